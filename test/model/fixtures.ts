/** Test fixtures for the model tests (not a test file). */
import fc from 'fast-check';
import type { EdgeNode, LoadReport, NetworkReport, NodeState } from '../../src/domain';

export interface NodeSpec {
  id: string;
  region?: string;
  zone?: string;
  subZone?: string;
  lat?: number;
  lon?: number;
  state?: NodeState;
  /** Smoothed load (all three resources), also the latest unless `latest` is given. */
  load?: number;
  latest?: Partial<LoadReport>;
  network?: Partial<NetworkReport>;
  maxRps?: number;
  cpu?: number;
  address?: string;
  noStats?: boolean;
}

let counter = 0;

export function node(s: NodeSpec): EdgeNode {
  const load = s.load ?? 0.2;
  const net: NetworkReport = { latencyMs: 0, jitterMs: 0, packetLoss: 0, ...s.network };
  counter += 1;
  return {
    id: s.id,
    role: 'edge',
    region: s.region ?? 'cn-east',
    zone: s.zone ?? 'cn-east-1',
    subZone: s.subZone ?? 'sz-a',
    location: { lat: s.lat ?? 31.23, lon: s.lon ?? 121.47 },
    address: s.address ?? `10.${(counter >> 16) & 255}.${(counter >> 8) & 255}.${counter & 255}`,
    services: [{ name: 'echo', port: 50051, protocol: 'grpc' }],
    capacity: { maxRps: s.maxRps, cpu: s.cpu },
    labels: {},
    state: s.state ?? 'healthy',
    registeredAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    lastHeartbeat: s.noStats ? null : { at: 1_700_000_000_000, load: s.latest ?? { cpu: load, memory: load, network: load }, network: net },
    stats: s.noStats ? null : { cpu: load, memory: load, network: load, ...net, samples: 10 },
    drainUntil: null,
  };
}

export const eps = (nodes: EdgeNode[], port = 50051) => nodes.map((n) => ({ node: n, port }));

export const REGIONS = ['cn-east', 'cn-north', 'eu-west', 'us-west'] as const;
const BASE: Record<string, [number, number]> = {
  'cn-east': [31.2, 121.5],
  'cn-north': [39.9, 116.4],
  'eu-west': [48.9, 2.35],
  'us-west': [37.8, -122.4],
};

/** A random node spec; ids are made unique by the fleet arbitrary. */
export const nodeSpecArb = fc.record({
  region: fc.constantFrom(...REGIONS),
  zoneIdx: fc.integer({ min: 1, max: 3 }),
  dLat: fc.double({ min: -2, max: 2, noNaN: true }),
  dLon: fc.double({ min: -2, max: 2, noNaN: true }),
  state: fc.constantFrom<NodeState>('healthy', 'healthy', 'healthy', 'suspect', 'unhealthy', 'draining'),
  load: fc.double({ min: 0, max: 1, noNaN: true }),
  latest: fc.double({ min: 0, max: 1, noNaN: true }),
  latencyMs: fc.double({ min: 0, max: 300, noNaN: true }),
  packetLoss: fc.double({ min: 0, max: 0.2, noNaN: true }),
  maxRps: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
  cpu: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
});

export type RandomSpec = typeof nodeSpecArb extends fc.Arbitrary<infer T> ? T : never;

export function fromRandom(specs: RandomSpec[]): EdgeNode[] {
  return specs.map((r, i) => {
    const [lat, lon] = BASE[r.region];
    return node({
      id: `n${String(i).padStart(3, '0')}`,
      region: r.region,
      zone: `${r.region}-${r.zoneIdx}`,
      lat: lat + r.dLat,
      lon: lon + r.dLon,
      state: r.state,
      load: r.load,
      latest: { cpu: r.latest, memory: r.load, network: r.load },
      network: { latencyMs: r.latencyMs, jitterMs: r.latencyMs / 10, packetLoss: r.packetLoss },
      maxRps: r.maxRps,
      cpu: r.cpu,
      address: `10.0.${i >> 8}.${i & 255}`,
    });
  });
}

export const fleetArb = fc.array(nodeSpecArb, { minLength: 1, maxLength: 40 }).map(fromRandom);

export const requesterArb = fc
  .record({
    region: fc.constantFrom(...REGIONS),
    zoneIdx: fc.integer({ min: 1, max: 3 }),
    located: fc.boolean(),
    dLat: fc.double({ min: -3, max: 3, noNaN: true }),
    dLon: fc.double({ min: -3, max: 3, noNaN: true }),
  })
  .map((r) => ({
    region: r.region,
    zone: `${r.region}-${r.zoneIdx}`,
    subZone: '',
    location: r.located ? { lat: BASE[r.region][0] + r.dLat, lon: BASE[r.region][1] + r.dLon } : null,
  }));
