/**
 * The demo topology (issue 6, as local processes): the global tier, two
 * regions with two relays each, edge sites running the echo backend, and
 * client localities running grpc-js-xds load generators. Every server gets
 * its own 127.0.x.y address (Linux routes all of 127/8 to loopback) so node
 * addresses are distinct IP literals. Network distance is modelled by the
 * backends' artificial delay by where the caller is (LATENCY_MATRIX).
 */

export interface RelaySpec {
  id: string;
  region: string;
  host: string;
  location: { lat: number; lon: number };
}

export interface SiteSpec {
  id: string;
  region: string;
  zone: string;
  host: string;
  location: { lat: number; lon: number };
}

export interface ClientSpec {
  id: string;
  region: string;
  zone: string;
}

export interface Topology {
  globalHost: string;
  relays: RelaySpec[];
  sites: SiteSpec[];
  clients: ClientSpec[];
  /** Which site each scenario acts on and which relay is killed. */
  targets: { overload: string; kill: string; relay: string };
}

/** Extra delay (ms) a backend adds: caller in the same zone, same region, other region. */
export const LATENCY_MATRIX = { zone: 2, region: 15, remote: 40 } as const;
/** Extra service time of an overloaded site (ms), on top of the distance delay. */
export const OVERLOAD_EXTRA_MS = 60;

const SH = { lat: 31.23, lon: 121.47 };
const HZ = { lat: 30.27, lon: 120.15 };
const BJ = { lat: 39.9, lon: 116.4 };
const TJ = { lat: 39.13, lon: 117.2 };

const EAST_RELAYS: RelaySpec[] = [
  { id: 'relay-east-1', region: 'cn-east', host: '127.0.1.11', location: SH },
  { id: 'relay-east-2', region: 'cn-east', host: '127.0.1.12', location: HZ },
];
const NORTH_RELAYS: RelaySpec[] = [
  { id: 'relay-north-1', region: 'cn-north', host: '127.0.1.21', location: BJ },
  { id: 'relay-north-2', region: 'cn-north', host: '127.0.1.22', location: TJ },
];
const EAST_SITES: SiteSpec[] = [
  { id: 'east-sh-1', region: 'cn-east', zone: 'cn-east-sh', host: '127.0.2.11', location: SH },
  { id: 'east-sh-2', region: 'cn-east', zone: 'cn-east-sh', host: '127.0.2.12', location: { lat: 31.3, lon: 121.5 } },
  { id: 'east-hz', region: 'cn-east', zone: 'cn-east-hz', host: '127.0.2.13', location: HZ },
];
const NORTH_SITES: SiteSpec[] = [
  { id: 'north-bj', region: 'cn-north', zone: 'cn-north-bj', host: '127.0.2.21', location: BJ },
  { id: 'north-tj', region: 'cn-north', zone: 'cn-north-tj', host: '127.0.2.22', location: TJ },
];

/** Full: two regions, 4 relays, 5 sites, 3 client localities. Quick: cn-east only, 1 relay, 1 client. */
export function demoTopology(quick: boolean): Topology {
  const targets = { overload: 'east-sh-1', kill: 'east-hz', relay: 'relay-east-1' };
  if (quick) {
    return {
      globalHost: '127.0.1.1',
      // One relay: the quick run has no relay scenario, and every process costs a second of CPU to start.
      relays: EAST_RELAYS.slice(0, 1),
      sites: EAST_SITES,
      clients: [{ id: 'client-sh', region: 'cn-east', zone: 'cn-east-sh' }],
      targets,
    };
  }
  return {
    globalHost: '127.0.1.1',
    relays: [...EAST_RELAYS, ...NORTH_RELAYS],
    sites: [...EAST_SITES, ...NORTH_SITES],
    clients: [
      { id: 'client-sh', region: 'cn-east', zone: 'cn-east-sh' },
      { id: 'client-hz', region: 'cn-east', zone: 'cn-east-hz' },
      { id: 'client-bj', region: 'cn-north', zone: 'cn-north-bj' },
    ],
    targets,
  };
}

/** The relays of a region, nearest to `loc` first (squared degrees suffice at this scale). */
export function relaysNearest(t: Topology, region: string, loc: { lat: number; lon: number }): RelaySpec[] {
  const d = (r: RelaySpec): number => (r.location.lat - loc.lat) ** 2 + (r.location.lon - loc.lon) ** 2;
  return t.relays.filter((r) => r.region === region).sort((a, b) => d(a) - d(b));
}

/** Where a client is: the location of its zone's first site (else its region's). */
export function clientLocation(t: Topology, c: ClientSpec): { lat: number; lon: number } {
  return (t.sites.find((s) => s.zone === c.zone) ?? t.sites.find((s) => s.region === c.region) ?? t.sites[0]).location;
}
