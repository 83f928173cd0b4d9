import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeAssignment, DEFAULT_WEIGHTS_CONFIG, haversineKm, resolveRequester, type EndpointAssignment, type Requester, type WeightsConfig } from '../../src/model';
import type { EdgeNode } from '../../src/domain';
import { eps, node } from './fixtures';

const cfg = (over: Partial<WeightsConfig> = {}): WeightsConfig => ({ ...DEFAULT_WEIGHTS_CONFIG, ...over });
const SH: Requester = { region: 'cn-east', zone: 'sh', subZone: '', location: { lat: 31.23, lon: 121.47 } };
const run = (nodes: EdgeNode[], config = cfg(), requester = SH, now?: number) => computeAssignment({ service: 'echo', requester, endpoints: eps(nodes), config, now });
const get = (out: EndpointAssignment[], id: string) => {
  const a = out.find((x) => x.nodeId === id);
  assert.ok(a, `no endpoint ${id}`);
  return a;
};
const prioMap = (out: EndpointAssignment[]) => Object.fromEntries(out.map((a) => [a.nodeId, a.priority]));

const fleet = [
  node({ id: 'sh-1', region: 'cn-east', zone: 'sh', lat: 31.2, lon: 121.4 }),
  node({ id: 'sh-2', region: 'cn-east', zone: 'sh', lat: 31.3, lon: 121.5 }),
  node({ id: 'hz-1', region: 'cn-east', zone: 'hz', lat: 30.27, lon: 120.15 }),
  node({ id: 'bj-1', region: 'cn-north', zone: 'bj', lat: 39.9, lon: 116.4 }),
  node({ id: 'par-1', region: 'eu-west', zone: 'par', lat: 48.86, lon: 2.35 }),
  node({ id: 'sf-1', region: 'us-west', zone: 'sf', lat: 37.77, lon: -122.42 }),
  node({ id: 'sg-1', region: 'ap-south', zone: 'sg', lat: 1.35, lon: 103.8 }),
];

describe('priorities', () => {
  it('zone first, then region, then the configured failover order, then the rest by distance', () => {
    const out = run(fleet, cfg({ regionFailover: { 'cn-east': ['eu-west', 'cn-north'] } }));
    // Unlisted: ap-south (Singapore, ~3800 km) before us-west (~9900 km).
    assert.deepEqual(prioMap(out), { 'sh-1': 0, 'sh-2': 0, 'hz-1': 1, 'par-1': 2, 'bj-1': 3, 'sg-1': 4, 'sf-1': 5 });
  });

  it('orders unlisted regions by name when the requester has no location, and can group them', () => {
    const out = run(fleet, cfg({ regionFailover: { 'cn-east': ['cn-north'] } }), { ...SH, location: null });
    assert.deepEqual(prioMap(out), { 'sh-1': 0, 'sh-2': 0, 'hz-1': 1, 'bj-1': 2, 'sg-1': 3, 'par-1': 4, 'sf-1': 5 });
    assert.ok(out.every((a) => a.factors.distanceKm === null));
    const grouped = run(fleet, cfg({ regionFailover: { 'cn-east': ['cn-north'] }, groupUnlistedRegions: true }));
    assert.deepEqual(prioMap(grouped), { 'sh-1': 0, 'sh-2': 0, 'hz-1': 1, 'bj-1': 2, 'sg-1': 3, 'par-1': 3, 'sf-1': 3 });
  });

  it('drops empty levels and renumbers (no endpoint in the requester zone)', () => {
    const out = run(fleet.slice(2), cfg({ regionFailover: { 'cn-east': ['cn-north'] } }));
    assert.deepEqual(prioMap(out), { 'hz-1': 0, 'bj-1': 1, 'sg-1': 2, 'par-1': 3, 'sf-1': 4 });
    const far = run(fleet.slice(3), cfg(), { ...SH, region: 'nowhere' });
    assert.equal(Math.min(...far.map((a) => a.priority)), 0);
  });

  it('adds a sub-zone level when preferSubZone is set', () => {
    const nodes = [node({ id: 'a', zone: 'sh', subZone: 'pudong' }), node({ id: 'b', zone: 'sh', subZone: 'minhang' }), node({ id: 'c', zone: 'hz' })];
    const requester = { ...SH, subZone: 'pudong' };
    assert.deepEqual(prioMap(run(nodes, cfg({ preferSubZone: true }), requester)), { a: 0, b: 1, c: 2 });
    assert.deepEqual(prioMap(run(nodes, cfg(), requester)), { a: 0, b: 0, c: 1 });
  });
});

describe('health', () => {
  const zone = [
    node({ id: 'a', zone: 'sh', state: 'healthy' }),
    node({ id: 'b', zone: 'sh', state: 'suspect' }),
    node({ id: 'c', zone: 'sh', state: 'unhealthy' }),
    node({ id: 'd', zone: 'sh', state: 'draining' }),
    node({ id: 'e', zone: 'hz', state: 'healthy' }),
  ];

  it('maps states and gives non-HEALTHY endpoints no share', () => {
    const out = run(zone);
    assert.deepEqual(
      out.map((a) => [a.nodeId, a.health, a.weight, a.sharePct]),
      [
        ['a', 'HEALTHY', 10_000, 100],
        ['b', 'DEGRADED', 1, 0],
        ['c', 'UNHEALTHY', 1, 0],
        ['d', 'DRAINING', 1, 0],
        ['e', 'HEALTHY', 10_000, 100],
      ],
    );
  });

  it('keeps a priority with no HEALTHY endpoint as a level with no share (clients skip it)', () => {
    const down = zone.map((n) => (n.zone === 'sh' ? { ...n, state: 'unhealthy' as const } : n));
    const out = run(down);
    assert.ok(out.filter((a) => a.priority === 0).every((a) => a.health === 'UNHEALTHY' && a.sharePct === 0));
    assert.equal(get(out, 'e').priority, 1);
    assert.equal(get(out, 'e').sharePct, 100);
  });

  it("with nonHealthyEndpoints 'omit' leaves them out and renumbers", () => {
    const down = zone.map((n) => (n.zone === 'sh' ? { ...n, state: 'unhealthy' as const } : n));
    const out = run(down, cfg({ nonHealthyEndpoints: 'omit' }));
    assert.deepEqual(
      out.map((a) => [a.nodeId, a.priority]),
      [['e', 0]],
    );
  });
});

describe('weights', () => {
  it('follows C / (L + eps) * exp(-lambda d) * q', () => {
    const nodes = [
      node({ id: 'a', zone: 'sh', lat: 31.23, lon: 121.47, load: 0.2, maxRps: 100 }),
      node({ id: 'b', zone: 'sh', lat: 31.23, lon: 121.47, load: 0.45, maxRps: 200 }),
      node({ id: 'c', zone: 'sh', lat: 31.23, lon: 121.47, load: 0.2, maxRps: 100, network: { packetLoss: 0.05 } }),
    ];
    const out = run(nodes);
    // a: 100/0.45 = 222.2; b: 200/0.7 = 285.7; c: 222.2 * e^-1 = 81.8
    const raw = [100 / 0.45, 200 / 0.7, (100 / 0.45) * Math.exp(-1)];
    const sum = raw.reduce((x, y) => x + y);
    out.forEach((a, i) => assert.ok(Math.abs(a.sharePct - (raw[i] / sum) * 100) < 0.05, `${a.nodeId} ${a.sharePct}`));
    assert.equal(get(out, 'c').factors.network, Math.exp(-1));
    assert.ok(Math.abs(get(out, 'a').factors.raw - raw[0]) < 1e-9);
  });

  it('takes capacity from maxRps, else cpu, else 1', () => {
    const out = run([
      node({ id: 'a', zone: 'sh', maxRps: 500, cpu: 4 }),
      node({ id: 'b', zone: 'sh', cpu: 4 }),
      node({ id: 'c', zone: 'sh', maxRps: 0 }),
      node({ id: 'd', zone: 'sh', maxRps: Number.POSITIVE_INFINITY }),
      node({ id: 'e', zone: 'sh', cpu: Number.NaN }),
    ]);
    assert.deepEqual(
      out.map((a) => a.factors.capacity),
      [500, 4, 1, 1e12, 1],
    );
    assert.ok(out.every((a) => Number.isFinite(a.factors.raw)));
    assert.ok(out[3].sharePct > 99);
  });

  it('uses the latest heartbeat load when there are no smoothed stats, else 0', () => {
    const n = node({ id: 'a', zone: 'sh', latest: { cpu: 0.5 } });
    const out = run([{ ...n, stats: null }, node({ id: 'b', zone: 'sh', noStats: true })]);
    assert.equal(get(out, 'a').factors.load, 0.5);
    assert.equal(get(out, 'b').factors.load, 0);
    assert.equal(get(out, 'b').factors.network, 1);
  });

  it('weights by distance inside a priority; the requester without location sits at its zone centroid', () => {
    const nodes = [
      node({ id: 'hz-1', zone: 'hz', lat: 30.27, lon: 120.15 }),
      node({ id: 'nj-1', zone: 'nj', lat: 32.06, lon: 118.8 }),
      node({ id: 'sh-1', zone: 'sh', lat: 31.2, lon: 121.4 }),
      node({ id: 'sh-2', zone: 'sh', lat: 31.3, lon: 121.6 }),
    ];
    const requester = resolveRequester({ region: 'cn-east', zone: 'sh' }, nodes);
    assert.ok(requester.location);
    const out = run(nodes, cfg(), requester);
    const hz = get(out, 'hz-1');
    const nj = get(out, 'nj-1');
    assert.ok(Math.abs((hz.factors.distanceKm as number) - haversineKm(requester.location, nodes[0].location)) < 1e-9);
    assert.equal(hz.priority, 1);
    assert.ok(hz.factors.distanceKm! < nj.factors.distanceKm! && hz.weight > nj.weight);
    const expected = Math.exp(-0.01 * (hz.factors.distanceKm! - nj.factors.distanceKm!));
    assert.ok(Math.abs(hz.weight / nj.weight - expected) / expected < 0.01);
  });

  it('does not underflow at large lambda and distance', () => {
    const nodes = [node({ id: 'far-1', region: 'x', zone: 'x', lat: -31, lon: -60 }), node({ id: 'far-2', region: 'x', zone: 'x', lat: -31, lon: -59 })];
    const out = run(nodes, cfg({ lambdaPerKm: 1 }));
    assert.equal(get(out, 'far-1').factors.raw, 0);
    assert.ok(get(out, 'far-1').sharePct > 99);
  });
});

describe('overload', () => {
  const zone = (latestA: number, latestB = 0.1) => [
    node({ id: 'a', zone: 'sh', load: 0.1, latest: { cpu: latestA, memory: 0.1, network: 0.1 }, maxRps: 1000 }),
    node({ id: 'b', zone: 'sh', load: 0.1, latest: { cpu: latestB, memory: 0.1, network: 0.1 }, maxRps: 10 }),
  ];

  it('gives the minimum weight at once on the latest load, even with a low EWMA', () => {
    const out = run(zone(0.95));
    const a = get(out, 'a');
    assert.equal(a.factors.load, 0.1);
    assert.equal(a.factors.latestLoad, 0.95);
    assert.equal(a.factors.overloaded, true);
    assert.equal(a.weight, 1);
    assert.ok(a.sharePct < 0.02);
    assert.ok(get(run(zone(0.9)), 'a').factors.overloaded, 'threshold is inclusive');
    assert.ok(!get(run(zone(0.89)), 'a').factors.overloaded);
  });

  it('keeps a trickle with overload.weightFactor', () => {
    const config = cfg({ overload: { ...DEFAULT_WEIGHTS_CONFIG.overload, weightFactor: 0.01 } });
    const out = run(zone(0.95), config);
    // a: 1000/0.35*0.01 = 28.6 vs b: 10/0.35 = 28.6: about even.
    assert.ok(Math.abs(get(out, 'a').sharePct - 50) < 1);
  });

  it('spreads evenly when every HEALTHY endpoint of a priority is overloaded', () => {
    const out = run([...zone(0.95, 0.99), node({ id: 'c', zone: 'sh', state: 'unhealthy' })]);
    assert.equal(get(out, 'a').weight, get(out, 'b').weight);
    assert.equal(get(out, 'a').sharePct, 50);
  });

  it('ignores a stale latest heartbeat when now is given', () => {
    const nodes = zone(0.95);
    const at = nodes[0].lastHeartbeat!.at;
    assert.ok(get(run(nodes, cfg(), SH, at + 30_000), 'a').factors.overloaded);
    assert.ok(!get(run(nodes, cfg(), SH, at + 120_000), 'a').factors.overloaded);
  });
});

describe('localities and addresses', () => {
  it('makes each endpoint its own locality and drops duplicate address:port', () => {
    const a = node({ id: 'a', zone: 'sh', address: '10.0.0.1' });
    const b = node({ id: 'b', zone: 'sh', address: '10.0.0.1' });
    const out = computeAssignment({
      service: 'echo',
      requester: SH,
      endpoints: [
        { node: b, port: 50051 },
        { node: a, port: 50051 },
        { node: a, port: 50052 },
        { node: a, port: 50052 },
      ],
      config: cfg(),
    });
    assert.deepEqual(
      out.map((x) => [x.nodeId, x.port, x.locality.subZone]),
      [
        ['a', 50051, 'a:50051'],
        ['a', 50052, 'a:50052'],
      ],
    );
  });
});
