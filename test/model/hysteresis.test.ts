import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { computeAssignment, DEFAULT_WEIGHTS_CONFIG, explainTable, formatExplainTable, stabilize, type Requester, type WeightsConfig } from '../../src/model';
import type { EdgeNode } from '../../src/domain';
import { eps, node } from './fixtures';

const SH: Requester = { region: 'cn-east', zone: 'sh', subZone: '', location: { lat: 31.23, lon: 121.47 } };
const cfg: WeightsConfig = { ...DEFAULT_WEIGHTS_CONFIG };
const run = (nodes: EdgeNode[], config = cfg) => computeAssignment({ service: 'echo', requester: SH, endpoints: eps(nodes), config });
const zone = (loads: number[], states: EdgeNode['state'][] = []) =>
  loads.map((l, i) => node({ id: `n${i}`, zone: 'sh', lat: 31.2, lon: 121.4, load: l, address: `10.1.0.${i + 1}`, state: states[i] ?? 'healthy' }));

describe('stabilize', () => {
  it('takes the first assignment as is', () => {
    const next = run(zone([0.2, 0.3]));
    assert.equal(stabilize(undefined, next, cfg), next);
  });

  it('keeps the previous weights for share changes under 10% relative', () => {
    const prev = run(zone([0.2, 0.3, 0.4]));
    const next = run(zone([0.22, 0.3, 0.4]));
    assert.notDeepEqual(
      next.map((a) => a.weight),
      prev.map((a) => a.weight),
    );
    assert.equal(stabilize(prev, next, cfg), prev);
  });

  it('takes share changes of 10% relative or more', () => {
    const prev = run(zone([0.2, 0.5]));
    const next = run(zone([0.5, 0.5]));
    assert.equal(stabilize(prev, next, cfg), next);
  });

  it('takes health, overload and membership changes at once, however small the share change', () => {
    const prev = run(zone([0.2, 0.2, 0.2]));
    const health = run(zone([0.2, 0.2, 0.2], ['healthy', 'healthy', 'suspect']));
    assert.equal(stabilize(prev, health, cfg), health);
    const loaded = zone([0.2, 0.2, 0.2]);
    loaded[2] = { ...loaded[2], lastHeartbeat: { at: 0, load: { cpu: 0.95 }, network: {} } };
    const over = run(loaded);
    assert.equal(stabilize(prev, over, cfg), over);
    const fewer = run(zone([0.2, 0.2]));
    assert.equal(stabilize(prev, fewer, cfg), fewer);
    const config = { ...cfg, hysteresisPct: 100, hysteresisAbsPct: 100 };
    assert.equal(stabilize(prev, health, config), health);
  });

  it('ignores changes under hysteresisAbsPct points; 0/0 disables hysteresis', () => {
    const tiny = (l: number) => [...zone([0.2, 0.2, 0.2, 0.2]), node({ id: 'x', zone: 'sh', load: l, maxRps: 0.02, address: '10.1.0.99' })];
    const prev = run(tiny(0.2));
    const next = run(tiny(0.05));
    const px = prev.find((a) => a.nodeId === 'x')!.sharePct;
    const nx = next.find((a) => a.nodeId === 'x')!.sharePct;
    assert.ok(nx / px > 1.4 && nx - px < 1, `${px} -> ${nx}`);
    assert.equal(stabilize(prev, next, cfg), prev);
    assert.equal(stabilize(prev, next, { hysteresisPct: 10, hysteresisAbsPct: 0 }), next);
    const a = run(zone([0.2, 0.3]));
    const b = run(zone([0.21, 0.3]));
    assert.equal(stabilize(a, b, { hysteresisPct: 0, hysteresisAbsPct: 0 }), b);
  });

  it('property: the result is previous or next; previous only if every share moved under the thresholds', () => {
    const loadsArb = fc.array(fc.double({ min: 0, max: 0.85, noNaN: true }), { minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(loadsArb, fc.array(fc.double({ min: -0.1, max: 0.1, noNaN: true }), { minLength: 12, maxLength: 12 }), (loads, noise) => {
        const prev = run(zone(loads));
        const next = run(zone(loads.map((l, i) => Math.min(0.85, Math.max(0, l + noise[i])))));
        const out = stabilize(prev, next, cfg);
        assert.ok(out === prev || out === next);
        const small = next.every((n, i) => {
          const d = Math.abs(n.sharePct - prev[i].sharePct);
          return d === 0 || d < 0.1 * prev[i].sharePct || d < cfg.hysteresisAbsPct;
        });
        assert.equal(out === prev, small);
      }),
      { numRuns: 300 },
    );
  });
});

describe('explainTable / formatExplainTable', () => {
  it('gives one row per endpoint with every factor, and a terminal table', () => {
    const nodes = [...zone([0.2, 0.3]), node({ id: 'hz-1', zone: 'hz', lat: 30.27, lon: 120.15, state: 'suspect', maxRps: 250 })];
    const rows = explainTable(run(nodes));
    assert.equal(rows.length, 3);
    assert.deepEqual(Object.keys(rows[0]).sort(), [
      'capacity',
      'distanceKm',
      'endpoint',
      'health',
      'latestLoad',
      'load',
      'locality',
      'networkFactor',
      'nodeId',
      'overloaded',
      'priority',
      'sharePct',
      'weight',
    ]);
    assert.equal(rows[0].endpoint, '10.1.0.1:50051');
    assert.deepEqual(rows[2].locality, { region: 'cn-east', zone: 'hz', subZone: 'hz-1' });
    assert.equal(rows[2].health, 'DEGRADED');
    assert.equal(rows[2].capacity, 250);
    assert.equal(rows[0].sharePct + rows[1].sharePct, 100);
    const text = formatExplainTable(rows);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^PRIO\s+NODE\s+ENDPOINT\s+LOCALITY\s+HEALTH\s+WEIGHT\s+SHARE%\s+DIST_KM/);
    assert.match(lines[3], /hz-1.*cn-east\/hz\s+DEGRADED\s+1\s+0\.00\s+\d+\.\d/);
    assert.equal(formatExplainTable([]), formatExplainTable([]));
    assert.match(formatExplainTable([]), /no endpoints/);
  });

  it('brackets IPv6 addresses and shows a dash for unknown distance', () => {
    const n = node({ id: 'v6', zone: 'sh', address: 'fd00::1' });
    const rows = explainTable(computeAssignment({ service: 'echo', requester: { ...SH, location: null }, endpoints: eps([n]), config: cfg }));
    assert.equal(rows[0].endpoint, '[fd00::1]:50051');
    assert.equal(rows[0].distanceKm, null);
    assert.match(formatExplainTable(rows), /\s-\s/);
  });
});
