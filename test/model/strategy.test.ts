/** strategy 'round-robin': one priority, equal weights, health still applies (the demo's comparison baseline). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeAssignment, DEFAULT_WEIGHTS_CONFIG, parseWeightsConfig, type Requester, type WeightsConfig } from '../../src/model';
import type { EdgeNode } from '../../src/domain';
import { eps, node } from './fixtures';

const SH: Requester = { region: 'cn-east', zone: 'sh', subZone: '', location: { lat: 31.23, lon: 121.47 } };
const RR: WeightsConfig = { ...DEFAULT_WEIGHTS_CONFIG, strategy: 'round-robin' };
const run = (nodes: EdgeNode[], config: WeightsConfig) => computeAssignment({ service: 'echo', requester: SH, endpoints: eps(nodes), config });

const fleet = [
  node({ id: 'sh-1', region: 'cn-east', zone: 'sh', lat: 31.2, lon: 121.4, load: 0.1 }),
  node({ id: 'hz-1', region: 'cn-east', zone: 'hz', lat: 30.27, lon: 120.15, load: 0.5, maxRps: 900 }),
  node({ id: 'bj-1', region: 'cn-north', zone: 'bj', lat: 39.9, lon: 116.4, network: { latencyMs: 80, packetLoss: 0.02 } }),
  node({ id: 'bj-2', region: 'cn-north', zone: 'bj', lat: 39.9, lon: 116.4, latest: { cpu: 0.97, memory: 0.2, network: 0.1 } }),
  node({ id: 'bj-3', region: 'cn-north', zone: 'bj', lat: 39.9, lon: 116.4, state: 'unhealthy' }),
  node({ id: 'bj-4', region: 'cn-north', zone: 'bj', lat: 39.9, lon: 116.4, state: 'suspect' }),
];

describe("strategy 'round-robin'", () => {
  it('is off by default and validates', () => {
    assert.equal(DEFAULT_WEIGHTS_CONFIG.strategy, 'edge-aware');
    const ok = parseWeightsConfig({ strategy: 'round-robin' });
    assert.ok(ok.ok && ok.config.strategy === 'round-robin' && ok.config.lambdaPerKm === DEFAULT_WEIGHTS_CONFIG.lambdaPerKm);
    const bad = parseWeightsConfig({ strategy: 'random' });
    assert.ok(!bad.ok && bad.error.field === 'strategy', JSON.stringify(bad));
    const back = parseWeightsConfig({ strategy: 'edge-aware' }, RR);
    assert.ok(back.ok && back.config.strategy === 'edge-aware');
  });

  it('puts every endpoint in priority 0 with equal weights, whatever distance, load, capacity or network', () => {
    const out = run(fleet, RR);
    assert.deepEqual(
      out.map((a) => a.priority),
      out.map(() => 0),
    );
    const healthy = out.filter((a) => a.health === 'HEALTHY');
    assert.deepEqual(
      healthy.map((a) => a.nodeId),
      ['bj-1', 'bj-2', 'hz-1', 'sh-1'],
    );
    assert.equal(new Set(healthy.map((a) => a.weight)).size, 1, JSON.stringify(healthy.map((a) => a.weight)));
    for (const a of healthy) assert.ok(Math.abs(a.sharePct - 25) < 1e-9);
  });

  it('keeps the status of non-HEALTHY endpoints (weight 1, no share), or omits them', () => {
    const out = run(fleet, RR);
    const st = Object.fromEntries(out.map((a) => [a.nodeId, [a.health, a.weight, a.sharePct]]));
    assert.deepEqual(st['bj-3'], ['UNHEALTHY', 1, 0]);
    assert.deepEqual(st['bj-4'], ['DEGRADED', 1, 0]);
    const omitted = run(fleet, { ...RR, nonHealthyEndpoints: 'omit' });
    assert.deepEqual(
      omitted.map((a) => a.nodeId),
      ['bj-1', 'bj-2', 'hz-1', 'sh-1'],
    );
  });

  it('edge-aware on the same fleet uses several priorities and unequal weights', () => {
    const out = run(fleet, DEFAULT_WEIGHTS_CONFIG);
    assert.ok(new Set(out.map((a) => a.priority)).size > 1);
    assert.equal(out.find((a) => a.nodeId === 'sh-1')?.priority, 0);
  });
});
