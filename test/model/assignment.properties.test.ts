import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { computeAssignment, DEFAULT_WEIGHTS_CONFIG, UINT32_MAX, type EndpointAssignment, type Requester, type WeightsConfig } from '../../src/model';
import type { EdgeNode, NodeState } from '../../src/domain';
import { eps, fleetArb, node, REGIONS, requesterArb } from './fixtures';

const HEALTH: Record<NodeState, string> = { healthy: 'HEALTHY', suspect: 'DEGRADED', unhealthy: 'UNHEALTHY', draining: 'DRAINING' };

const configArb: fc.Arbitrary<WeightsConfig> = fc
  .record({
    failover: fc.shuffledSubarray([...REGIONS]),
    weightFactor: fc.constantFrom(0, 0.1),
    lambda: fc.constantFrom(0, 0.001, 0.01, 0.05),
    nonHealthy: fc.constantFrom<'send' | 'omit'>('send', 'omit'),
    group: fc.boolean(),
  })
  .map((r) => ({
    ...DEFAULT_WEIGHTS_CONFIG,
    lambdaPerKm: r.lambda,
    overload: { ...DEFAULT_WEIGHTS_CONFIG.overload, weightFactor: r.weightFactor },
    nonHealthyEndpoints: r.nonHealthy,
    groupUnlistedRegions: r.group,
    regionFailover: Object.fromEntries(REGIONS.map((reg) => [reg, r.failover.filter((x) => x !== reg)])),
  }));

const compute = (requester: Requester, nodes: EdgeNode[], config: WeightsConfig) => computeAssignment({ service: 'echo', requester, endpoints: eps(nodes), config });

const byId = (out: EndpointAssignment[], id: string) => out.find((a) => a.nodeId === id) as EndpointAssignment;

/** Random attributes shared by the two probe nodes of a monotonicity test. */
const probeArb = fc.record({
  load: fc.double({ min: 0, max: 1, noNaN: true }),
  latest: fc.double({ min: 0, max: 1, noNaN: true }),
  latencyMs: fc.double({ min: 0, max: 300, noNaN: true }),
  maxRps: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
});

describe('computeAssignment properties over random fleets', () => {
  it('sends every endpoint once, health from state, non-HEALTHY with weight 1 and no share', () => {
    fc.assert(
      fc.property(fleetArb, requesterArb, configArb, (nodes, requester, config) => {
        const out = compute(requester, nodes, config);
        const expected = config.nonHealthyEndpoints === 'omit' ? nodes.filter((n) => n.state === 'healthy') : nodes;
        assert.deepEqual(out.map((a) => a.nodeId).sort(), expected.map((n) => n.id).sort());
        for (const a of out) {
          const n = nodes.find((x) => x.id === a.nodeId) as EdgeNode;
          assert.equal(a.health, HEALTH[n.state]);
          assert.deepEqual(a.locality, { region: n.region, zone: n.zone, subZone: n.id });
          assert.ok(Number.isInteger(a.weight) && a.weight >= 1);
          if (a.health !== 'HEALTHY') {
            assert.equal(a.weight, 1);
            assert.equal(a.sharePct, 0);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('numbers priorities contiguously from 0, zone first, region second, sorted output', () => {
    fc.assert(
      fc.property(fleetArb, requesterArb, configArb, (nodes, requester, config) => {
        const out = compute(requester, nodes, config);
        const prios = [...new Set(out.map((a) => a.priority))];
        assert.deepEqual(
          prios,
          prios.map((_, i) => i),
        );
        for (let i = 1; i < out.length; i++) {
          const [p, c] = [out[i - 1], out[i]];
          assert.ok(p.priority < c.priority || (p.priority === c.priority && p.nodeId < c.nodeId));
        }
        const rank = (a: EndpointAssignment) => (a.locality.region !== requester.region ? 2 : a.locality.zone !== requester.zone ? 1 : 0);
        for (let i = 1; i < out.length; i++) assert.ok(rank(out[i - 1]) <= rank(out[i]));
        for (const p of prios) {
          const regions = new Set(out.filter((a) => a.priority === p).map((a) => a.locality.region));
          if (!config.groupUnlistedRegions) assert.equal(regions.size, 1);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives shares within 1 point of the exact formula shares, sums within uint32', () => {
    fc.assert(
      fc.property(fleetArb, requesterArb, configArb, (nodes, requester, config) => {
        const out = compute(requester, nodes, config);
        for (const p of new Set(out.map((a) => a.priority))) {
          const healthy = out.filter((a) => a.priority === p && a.health === 'HEALTHY');
          if (healthy.length === 0) continue;
          const allOver = healthy.every((a) => a.factors.overloaded);
          const eff = healthy.map((a) => (allOver ? 1 : a.factors.raw * (a.factors.overloaded ? config.overload.weightFactor : 1)));
          const sum = eff.reduce((x, y) => x + y, 0);
          const wsum = healthy.reduce((x, a) => x + a.weight, 0);
          assert.ok(wsum <= UINT32_MAX);
          assert.ok(Math.abs(healthy.reduce((x, a) => x + a.sharePct, 0) - 100) < 1e-6);
          healthy.forEach((a, i) => {
            const exact = sum > 0 ? eff[i] / sum : 1 / healthy.length;
            assert.ok(Math.abs(a.sharePct / 100 - exact) <= 0.01, `${a.nodeId}: ${a.sharePct}% vs ${exact * 100}%`);
            assert.ok(Math.abs(a.weight / wsum - exact) <= 0.01);
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never gives a closer endpoint less weight, all else equal', () => {
    fc.assert(
      fc.property(
        fleetArb,
        requesterArb,
        configArb,
        probeArb,
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.double({ min: 0, max: 3, noNaN: true }),
        (nodes, r, config, probe, a, b) => {
          const requester = { ...r, location: r.location ?? { lat: 31, lon: 121 } };
          const [near, far] = a <= b ? [a, b] : [b, a];
          const mk = (id: string, dLat: number) =>
            node({
              id,
              region: requester.region,
              zone: requester.zone,
              lat: requester.location.lat + dLat,
              lon: requester.location.lon,
              load: probe.load,
              latest: { cpu: probe.latest, memory: probe.load, network: probe.load },
              network: { latencyMs: probe.latencyMs },
              maxRps: probe.maxRps,
            });
          const out = compute(requester, [...nodes, mk('zz-near', near), mk('zz-far', far)], config);
          assert.ok(byId(out, 'zz-near').weight >= byId(out, 'zz-far').weight);
          assert.equal(byId(out, 'zz-near').priority, byId(out, 'zz-far').priority);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never gives a more loaded endpoint more weight (smoothed or latest), all else equal', () => {
    fc.assert(
      fc.property(
        fleetArb,
        requesterArb,
        configArb,
        probeArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (nodes, requester, config, probe, s1, s2, l1, l2) => {
          const mk = (id: string, smooth: number, latest: number) =>
            node({
              id,
              region: requester.region,
              zone: `${requester.region}-2`,
              lat: 31,
              lon: 121,
              load: smooth,
              latest: { cpu: latest, memory: smooth, network: smooth },
              network: { latencyMs: probe.latencyMs },
              maxRps: probe.maxRps,
            });
          const out = compute(requester, [...nodes, mk('zz-light', Math.min(s1, s2), Math.min(l1, l2)), mk('zz-heavy', Math.max(s1, s2), Math.max(l1, l2))], config);
          assert.ok(byId(out, 'zz-light').weight >= byId(out, 'zz-heavy').weight);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is deterministic: shuffled input gives byte-identical output', () => {
    fc.assert(
      fc.property(fleetArb, requesterArb, configArb, fc.integer(), (nodes, requester, config, seed) => {
        const shuffled = [...nodes].sort((x, y) => ((x.id.charCodeAt(3) * seed) % 7) - ((y.id.charCodeAt(3) * seed) % 7));
        const a = JSON.stringify(compute(requester, nodes, config));
        const b = JSON.stringify(compute(requester, shuffled.reverse(), config));
        assert.equal(a, b);
      }),
      { numRuns: 200 },
    );
  });
});
