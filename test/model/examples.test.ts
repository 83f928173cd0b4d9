/**
 * The worked examples of docs/WEIGHTS.md: the tables there must be exactly
 * what the code prints for these fleets.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  computeAssignment,
  DEFAULT_WEIGHTS_CONFIG,
  explainTable,
  formatExplainTable,
  parseWeightsConfig,
  resolveRequester,
  type Requester,
  type WeightsConfig,
} from '../../src/model';
import type { Capacity, EdgeNode, NodeState } from '../../src/domain';

interface Opts {
  load?: number;
  latest?: number;
  lat?: number;
  loss?: number;
  cap?: Capacity;
  state?: NodeState;
}

function fleet(rows: Array<[string, string, string, number, number, Opts?]>): EdgeNode[] {
  return rows.map(([id, region, zone, lat, lon, o = {}], i) => {
    const load = o.load ?? 0.3;
    const net = { latencyMs: o.lat ?? 5, jitterMs: 1, packetLoss: o.loss ?? 0 };
    return {
      id,
      role: 'edge',
      region,
      zone,
      subZone: zone,
      location: { lat, lon },
      address: `10.0.0.${i + 1}`,
      services: [{ name: 'cam', port: 8443, protocol: 'grpc' }],
      capacity: o.cap ?? { cpu: 8 },
      labels: {},
      state: o.state ?? 'healthy',
      registeredAt: 0,
      updatedAt: 0,
      lastHeartbeat: { at: 0, load: { cpu: o.latest ?? load, memory: load, network: load }, network: net },
      stats: { cpu: load, memory: load, network: load, ...net, samples: 10 },
      drainUntil: null,
    };
  });
}

export const CITY = fleet([
  ['pd-lujiazui', 'cn-east', 'sh-pudong', 31.2397, 121.4998],
  ['pd-zhangjiang', 'cn-east', 'sh-pudong', 31.204, 121.59],
  ['pd-jinqiao', 'cn-east', 'sh-pudong', 31.266, 121.61, { load: 0.6 }],
  ['pd-chuansha', 'cn-east', 'sh-pudong', 31.19, 121.7, { cap: { cpu: 16 } }],
  ['pd-airport', 'cn-east', 'sh-pudong', 31.1443, 121.8083, { load: 0.35, latest: 0.96 }],
  ['px-jingan', 'cn-east', 'sh-puxi', 31.229, 121.448, { load: 0.2 }],
  ['px-xujiahui', 'cn-east', 'sh-puxi', 31.195, 121.437, { load: 0.2, lat: 60, loss: 0.01 }],
]);
const CITY_REQUESTER: Requester = { region: 'cn-east', zone: 'sh-pudong', subZone: '', location: { lat: 31.2304, lon: 121.4737 } };

export const COUNTRY = fleet([
  ['sh-1', 'cn-east', 'sh', 31.23, 121.47, { state: 'unhealthy' }],
  ['sh-2', 'cn-east', 'sh', 31.2, 121.6, { state: 'unhealthy' }],
  ['hz-1', 'cn-east', 'hz', 30.27, 120.15],
  ['hz-2', 'cn-east', 'hz', 30.3, 120.1, { load: 0.5 }],
  ['nj-1', 'cn-east', 'nj', 32.06, 118.8],
  ['hf-1', 'cn-east', 'hf', 31.82, 117.23, { load: 0.1 }],
  ['bj-1', 'cn-north', 'bj', 39.9, 116.4],
  ['tj-1', 'cn-north', 'tj', 39.13, 117.2],
  ['gz-1', 'cn-south', 'gz', 23.13, 113.26],
  ['sz-1', 'cn-south', 'sz', 22.54, 114.06],
  ['cd-1', 'cn-west', 'cd', 30.57, 104.07],
]);
// Addresses in the doc continue the numbering of the city fleet.
COUNTRY.forEach((n, i) => (n.address = `10.0.0.${i + 8}`));

function table(nodes: EdgeNode[], requester: Requester, config: WeightsConfig): string {
  const endpoints = nodes.map((node) => ({ node, port: 8443 }));
  return formatExplainTable(explainTable(computeAssignment({ service: 'cam', requester, endpoints, config })));
}

function weightsDoc(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'docs', 'WEIGHTS.md');
    if (existsSync(p)) return readFileSync(p, 'utf8');
    dir = dirname(dir);
  }
  return readFileSync(join(process.cwd(), 'docs', 'WEIGHTS.md'), 'utf8');
}

describe('docs/WEIGHTS.md worked examples', () => {
  const doc = weightsDoc();

  it('city scale table matches the code', () => {
    const text = table(CITY, CITY_REQUESTER, DEFAULT_WEIGHTS_CONFIG);
    assert.ok(doc.includes('```\n' + text + '```'), `docs/WEIGHTS.md should contain:\n${text}`);
  });

  it('country scale table matches the code', () => {
    const cfg = parseWeightsConfig({ regionFailover: { 'cn-east': ['cn-north', 'cn-south'] } });
    assert.ok(cfg.ok);
    const requester = resolveRequester({ region: 'cn-east', zone: 'sh' }, COUNTRY);
    const text = table(COUNTRY, requester, cfg.config);
    assert.ok(doc.includes('```\n' + text + '```'), `docs/WEIGHTS.md should contain:\n${text}`);
  });
});
