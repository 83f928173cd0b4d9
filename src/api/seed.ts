/**
 * Compatibility with the registration client of the seed design document
 * (class EdgeNodeRegistry): `POST /register` and `POST /heartbeat`.
 *
 * Placement rule for nodes that do not say where they are: region is
 * `default` (SEED_DEFAULT_REGION) and zone is the 1-degree geographic grid cell
 * containing the location, named `geo-<|floor(lat)|><n|s><|floor(lon)|><e|w>`;
 * e.g. (31.23, 121.47) -> `geo-31n121e`, (-33.87, 151.21) -> `geo-34s151e`,
 * (40.71, -74.01) -> `geo-40n75w`. subZone is empty. A seed payload may also
 * carry explicit `region`/`zone` (DNS labels), which win.
 */
import { z } from 'zod';
import type { Capacity, HeartbeatInput, NodeRegistration, ServicePort, NodeRole } from '../domain';
import { ApiError, parseOrThrow } from './errors';
import { LABEL_KEY, MAX_LABELS, capacitySchema, dnsLabel, ipLiteral, latitude, longitude, nonNegative, unit } from '../domain';

export const SEED_DEFAULT_REGION = 'default';

export const seedRegisterSchema = z.object({
  node_id: dnsLabel,
  location: z.tuple([latitude, longitude]),
  ip: ipLiteral,
  capabilities: z
    .record(z.string(), z.unknown())
    .refine((o) => Object.keys(o).length <= MAX_LABELS, { message: `at most ${MAX_LABELS} capabilities`, params: { code: 'too_many_items' } })
    .default({}),
  timestamp: z.number().optional(),
  region: dnsLabel.optional(),
  zone: dnsLabel.optional(),
});

export const seedHeartbeatSchema = z.object({
  node_id: dnsLabel,
  load: z.object({ cpu: unit.optional(), memory: unit.optional(), network: unit.optional() }).optional(),
  network_status: z.object({ latency: nonNegative.max(3_600_000).optional(), jitter: nonNegative.max(3_600_000).optional(), packet_loss: unit.optional() }).optional(),
  timestamp: z.number().optional(),
});

export type SeedRegister = z.output<typeof seedRegisterSchema>;
export type SeedHeartbeat = z.output<typeof seedHeartbeatSchema>;

/** The 1-degree grid cell zone name of a location (see the module comment). */
export function geoZone(lat: number, lon: number): string {
  const la = Math.floor(lat);
  const lo = Math.floor(lon);
  return `geo-${Math.abs(la)}${la >= 0 ? 'n' : 's'}${Math.abs(lo)}${lo >= 0 ? 'e' : 'w'}`;
}

const UNITS = new Map<string, number>([
  ['k', 1 / 1024],
  ['kb', 1 / 1000],
  ['ki', 1 / 1024],
  ['kib', 1 / 1024],
  ['m', 1],
  ['mb', 1],
  ['mi', 1],
  ['mib', 1],
  ['g', 1024],
  ['gb', 1000],
  ['gi', 1024],
  ['gib', 1024],
  ['t', 1048576],
  ['tb', 1e6],
  ['ti', 1048576],
  ['tib', 1048576],
]);

/**
 * Memory in MiB from a number (MiB) or a string like "8Gi", "512MB"; other
 * types are returned as they are, for the capacity schema to reject.
 */
function memoryMb(key: string, v: unknown): unknown {
  if (typeof v !== 'string') return v;
  // Trimmed first: `\s*` on both sides of an unanchored middle backtracks quadratically on long blanks.
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(v.trim());
  const factor = m === null ? undefined : m[2] === '' ? 1 : UNITS.get(m[2].toLowerCase());
  if (m === null || factor === undefined) {
    throw new ApiError(400, 'invalid_format', `capabilities.${key}: must be MiB or a size with a unit, like "512Mi" or "8Gi"`, `capabilities.${key}`);
  }
  // A size too large for a double is out of range like any other too large size, not "not a number".
  return Math.min(Number(m[1]) * factor, Number.MAX_VALUE);
}

/** Capacity keys understood in `capabilities`, and where they go. */
const CAPACITY_KEYS = new Map<string, keyof Capacity>([
  ['cpu', 'cpu'],
  ['cpus', 'cpu'],
  ['cpu_cores', 'cpu'],
  ['memory', 'memoryMb'],
  ['memory_mb', 'memoryMb'],
  ['memoryMb', 'memoryMb'],
  ['max_rps', 'maxRps'],
  ['maxRps', 'maxRps'],
]);

/** Names of Object.prototype members (`constructor`, `toString`, `__proto__`, ...): not capabilities but probes of lookups. */
const RESERVED_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

const reserved = (key: string): ApiError => new ApiError(400, 'invalid_format', `capabilities.${key}: is a reserved name`, `capabilities.${key}`);

/** seedRegisterSchema, plus the reserved-name check on the capability keys exactly as sent. */
export function parseSeedRegister(body: unknown): SeedRegister {
  const p = parseOrThrow(seedRegisterSchema, body);
  // zod's record drops an own `__proto__` key without a word, so the keys are checked on the input.
  const caps = body !== null && typeof body === 'object' && Object.hasOwn(body, 'capabilities') ? (body as { capabilities: unknown }).capabilities : undefined;
  if (caps !== null && typeof caps === 'object') {
    for (const key of Object.keys(caps)) if (RESERVED_KEYS.has(key)) throw reserved(key);
  }
  return p;
}

/**
 * Capabilities -> capacity and labels. `cpu`/`cpus`/`cpu_cores` -> capacity.cpu,
 * `memory`/`memory_mb` (MiB, or a string with a unit such as "8Gi") ->
 * capacity.memoryMb, `max_rps` -> capacity.maxRps, each within the limits of
 * `capacity` in POST /v1/nodes (capacitySchema), with the same errors.
 * Every scalar capability (and arrays of scalars, comma-joined) also becomes
 * a label `cap.<key>`; nested objects are ignored. Keys named like
 * Object.prototype members are rejected. Only own keys of `caps` are read.
 */
export function mapCapabilities(caps: Record<string, unknown>): { capacity: Capacity; labels: Record<string, string> } {
  const capacity: Capacity = {};
  const labels: Record<string, string> = {};
  for (const key of Object.keys(caps)) {
    const value = caps[key];
    if (RESERVED_KEYS.has(key)) throw reserved(key);
    const target = CAPACITY_KEYS.get(key);
    if (target !== undefined) {
      const n = target === 'memoryMb' ? memoryMb(key, value) : value;
      capacity[target] = parseOrThrow(capacitySchema.shape[target], n, `capabilities.${key}`);
    }
    const labelKey = `cap.${key}`;
    if (!LABEL_KEY.test(labelKey)) continue;
    let text: string | undefined;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') text = String(value);
    else if (Array.isArray(value) && value.every((x) => ['string', 'number', 'boolean'].includes(typeof x))) text = value.join(',');
    if (text !== undefined && text.length <= 256) labels[labelKey] = text;
  }
  return { capacity, labels };
}

/** Seed registration -> canonical registration. Services and role of an already registered node are kept. */
export function seedToRegistration(p: SeedRegister, existing?: { services: ServicePort[]; role: NodeRole }): NodeRegistration {
  const [lat, lon] = p.location;
  const { capacity, labels } = mapCapabilities(p.capabilities);
  return {
    id: p.node_id,
    role: existing?.role ?? 'edge',
    region: p.region ?? SEED_DEFAULT_REGION,
    zone: p.zone ?? geoZone(lat, lon),
    subZone: '',
    location: { lat, lon },
    address: p.ip,
    services: existing?.services ?? [],
    capacity,
    labels,
  };
}

export function seedToHeartbeat(p: SeedHeartbeat): HeartbeatInput {
  const out: HeartbeatInput = {};
  if (p.load) out.load = { ...p.load };
  if (p.network_status) {
    const n: HeartbeatInput['network'] = {};
    if (p.network_status.latency !== undefined) n.latencyMs = p.network_status.latency;
    if (p.network_status.jitter !== undefined) n.jitterMs = p.network_status.jitter;
    if (p.network_status.packet_loss !== undefined) n.packetLoss = p.network_status.packet_loss;
    out.network = n;
  }
  return out;
}
