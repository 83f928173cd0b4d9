/**
 * Server options: one table of specs (flag, environment variable, default,
 * parser) from which the CLI builds its flags and the typed ServerOptions is
 * resolved. Adding an option = one ServerOptions field + one spec entry.
 */
import type { LogLevel } from '../observability';
import {
  parseDnsLabel,
  parseDuration,
  parseFloatIn,
  parseHost,
  parseHostPortList,
  parseIntIn,
  parseIpLiteral,
  parseLocation,
  parseLogLevel,
  parseNonEmpty,
  parsePort,
  parseByteSize,
} from './parse';

export interface ServerOptions {
  /** Interface both listeners bind to. */
  host: string;
  /** REST API port; 0 picks a free port. */
  httpPort: number;
  /** xDS (gRPC) port; 0 picks a free port. */
  xdsPort: number;
  /** SQLite database file (its folder is created). */
  db: string;
  /** Expected heartbeat interval (ms). */
  heartbeatIntervalMs: number;
  /** Draining time of a deregistered node before removal (ms). */
  drainGraceMs: number;
  logLevel: LogLevel;
  /** When set, `{"httpPort":N,"xdsPort":N}` is written there once listening. */
  readyFile: string | null;
  /** Bearer token for mutating REST requests; null: no auth. */
  apiToken: string | null;
  /** EWMA smoothing factor of heartbeat stats. */
  ewmaAlpha: number;
  /** Heartbeat group commit: longest wait before a batch is written (ms). */
  heartbeatBatchDelayMs: number;
  /** Heartbeat group commit: batch size that triggers an immediate write. */
  heartbeatBatchMax: number;
  /** Weights configuration file (YAML or JSON); null: built-in defaults. */
  weightsConfig: string | null;
  /** Registry changes are coalesced this long before config is recomputed (ms). */
  coalesceMs: number;
  /** Server-wide bound on xDS response bytes written and not yet taken by HTTP/2 (0: unbounded). */
  xdsSendBudget: number;
  /** Minimum time between two weight-only EDS pushes of one service (ms). */
  weightPushIntervalMs: number;
  /** A view (place x client kind) no proxy used for this long is dropped (ms). */
  viewIdleMs: number;
  /** Port of the egress listener sent to Envoy sidecars. */
  egressPort: number;
  /** SQLite durability: 'full' (fsync per commit, survives power loss) or 'normal' (survives process crashes). */
  dbSync: 'full' | 'normal';
  /** 'global' (the default) or 'regional' (a relay of one region). */
  role: 'global' | 'regional';
  /** Regional tier: the region this relay serves. */
  region: string | null;
  /** Regional tier: the relay's zone (default: its region). */
  zone: string | null;
  /** Regional tier: the global tier's xDS addresses (HOST:PORT), in order of preference. */
  upstreams: string[] | null;
  /** The IP other machines reach this server at (relays register it; bootstraps use it). */
  advertiseAddress: string | null;
  /** Where this server is (relays: for nearest-relay-first ordering). */
  location: { lat: number; lon: number } | null;
  /** Regional tier: the relay's node id (default relay-<address>-<xds port>). */
  relayId: string | null;
}

export interface OptionSpec<K extends keyof ServerOptions = keyof ServerOptions> {
  key: K;
  /** Commander flag syntax, e.g. `--http-port <port>`. */
  flag: string;
  env: string;
  description: string;
  /** Default as text (shown in --help, parsed like user input); null = unset. */
  defaultText: string | null;
  parse: (text: string) => ServerOptions[K];
  /** The flag may be given several times; values are joined by commas before parsing. */
  repeatable?: boolean;
}

const spec = <K extends keyof ServerOptions>(s: OptionSpec<K>): OptionSpec<K> => s;

export const SERVE_OPTIONS = [
  spec({ key: 'httpPort', flag: '--http-port <port>', env: 'EDGE_XDS_HTTP_PORT', description: 'REST API port (0 = any free port)', defaultText: '8080', parse: parsePort }),
  spec({ key: 'xdsPort', flag: '--xds-port <port>', env: 'EDGE_XDS_XDS_PORT', description: 'xDS gRPC port (0 = any free port)', defaultText: '18000', parse: parsePort }),
  spec({ key: 'host', flag: '--host <host>', env: 'EDGE_XDS_HOST', description: 'interface to listen on', defaultText: '0.0.0.0', parse: parseHost }),
  spec({ key: 'db', flag: '--db <file>', env: 'EDGE_XDS_DB', description: 'SQLite database file', defaultText: './data/edge-xds.db', parse: parseNonEmpty }),
  spec({
    key: 'heartbeatIntervalMs',
    flag: '--heartbeat-interval <duration>',
    env: 'EDGE_XDS_HEARTBEAT_INTERVAL',
    description: 'expected heartbeat interval (suspect after 2 missed, unhealthy after 3)',
    defaultText: '10s',
    parse: positiveDuration,
  }),
  spec({
    key: 'drainGraceMs',
    flag: '--drain-grace <duration>',
    env: 'EDGE_XDS_DRAIN_GRACE',
    description: 'how long a deregistered node drains before removal',
    defaultText: '30s',
    parse: parseDuration,
  }),
  spec({
    key: 'logLevel',
    flag: '--log-level <level>',
    env: 'EDGE_XDS_LOG_LEVEL',
    description: 'fatal|error|warn|info|debug|trace|silent',
    defaultText: 'info',
    parse: parseLogLevel,
  }),
  spec({
    key: 'readyFile',
    flag: '--ready-file <path>',
    env: 'EDGE_XDS_READY_FILE',
    description: 'write {"httpPort","xdsPort"} JSON here once listening',
    defaultText: null,
    parse: parseNonEmpty,
  }),
  spec({
    key: 'apiToken',
    flag: '--api-token <token>',
    env: 'EDGE_XDS_API_TOKEN',
    description: 'bearer token required on mutating REST requests',
    defaultText: null,
    parse: parseNonEmpty,
  }),
  spec({
    key: 'ewmaAlpha',
    flag: '--ewma-alpha <alpha>',
    env: 'EDGE_XDS_EWMA_ALPHA',
    description: 'EWMA smoothing factor of heartbeat stats, (0,1]',
    defaultText: '0.3',
    parse: parseFloatIn(0, 1, true),
  }),
  spec({
    key: 'heartbeatBatchDelayMs',
    flag: '--heartbeat-batch-delay <duration>',
    env: 'EDGE_XDS_HEARTBEAT_BATCH_DELAY',
    description: 'group commit: longest wait before writing a batch',
    defaultText: '5ms',
    parse: parseDuration,
  }),
  spec({
    key: 'weightsConfig',
    flag: '--weights-config <file>',
    env: 'EDGE_XDS_WEIGHTS_CONFIG',
    description: 'weights configuration file, YAML or JSON (see docs/WEIGHTS.md)',
    defaultText: null,
    parse: parseNonEmpty,
  }),
  spec({
    key: 'coalesceMs',
    flag: '--coalesce <duration>',
    env: 'EDGE_XDS_COALESCE',
    description:
      'coalescing window for config recomputation after registry changes: a change after a quiet period goes out at once, the ones right behind it are gathered (never later than 1s)',
    defaultText: '100ms',
    parse: parseDuration,
  }),
  spec({
    key: 'xdsSendBudget',
    flag: '--xds-send-budget <size>',
    env: 'EDGE_XDS_SEND_BUDGET',
    description: "bound on xDS response bytes written and not yet taken by HTTP/2, server-wide (memory during a fleet's initial sync); 0: unbounded",
    defaultText: '64MiB',
    parse: parseByteSize,
  }),
  spec({
    key: 'viewIdleMs',
    flag: '--view-idle <duration>',
    env: 'EDGE_XDS_VIEW_IDLE',
    description: 'a view (place x client kind) no proxy used for this long is dropped (relays also stop watching it upstream)',
    defaultText: '60s',
    parse: parseDuration,
  }),
  spec({
    key: 'weightPushIntervalMs',
    flag: '--weight-push-interval <duration>',
    env: 'EDGE_XDS_WEIGHT_PUSH_INTERVAL',
    description: 'minimum time between two weight-only EDS pushes of one service (health changes are never delayed)',
    defaultText: '1s',
    parse: parseDuration,
  }),
  spec({
    key: 'egressPort',
    flag: '--egress-port <port>',
    env: 'EDGE_XDS_EGRESS_PORT',
    description: 'port of the egress listener sent to Envoy sidecars (on 127.0.0.1)',
    defaultText: '15001',
    parse: parsePort,
  }),
  spec({ key: 'role', flag: '--role <role>', env: 'EDGE_XDS_ROLE', description: 'global | regional (a relay of one region)', defaultText: 'global', parse: parseRole }),
  spec({ key: 'region', flag: '--region <region>', env: 'EDGE_XDS_REGION', description: 'regional: the region this relay serves', defaultText: null, parse: parseNonEmpty }),
  spec({ key: 'zone', flag: '--zone <zone>', env: 'EDGE_XDS_ZONE', description: "regional: the relay's zone (default: its region)", defaultText: null, parse: parseNonEmpty }),
  spec({
    key: 'upstreams',
    flag: '--upstream <host:port>',
    env: 'EDGE_XDS_UPSTREAM',
    description: "regional: the global tier's xDS address; repeat for several (tried in order); env: comma-separated",
    defaultText: null,
    parse: parseHostPortList,
    repeatable: true,
  }),
  spec({
    key: 'advertiseAddress',
    flag: '--advertise-address <ip>',
    env: 'EDGE_XDS_ADVERTISE_ADDRESS',
    description: 'IP address other machines reach this server at (relays register it; bootstraps use it)',
    defaultText: null,
    parse: parseIpLiteral,
  }),
  spec({
    key: 'location',
    flag: '--location <lat,lon>',
    env: 'EDGE_XDS_LOCATION',
    description: 'where this server is, e.g. 31.23,121.47 (relays: nearest-first ordering)',
    defaultText: null,
    parse: parseLocation,
  }),
  spec({
    key: 'relayId',
    flag: '--relay-id <id>',
    env: 'EDGE_XDS_RELAY_ID',
    description: 'regional: node id of this relay (default relay-<address>-<xds port>)',
    defaultText: null,
    parse: parseDnsLabel,
  }),
  spec({
    key: 'heartbeatBatchMax',
    flag: '--heartbeat-batch-max <n>',
    env: 'EDGE_XDS_HEARTBEAT_BATCH_MAX',
    description: 'group commit: write at once when this many heartbeats wait',
    defaultText: '1000',
    parse: parseIntIn(1, 100000),
  }),
  spec({
    key: 'dbSync',
    flag: '--db-sync <mode>',
    env: 'EDGE_XDS_DB_SYNC',
    description: 'SQLite durability: full (fsync every commit) or normal (survives process crash, not power loss)',
    defaultText: 'full',
    parse: parseDbSync,
  }),
] as const;

function parseDbSync(text: string): 'full' | 'normal' {
  const t = text.trim().toLowerCase();
  if (t !== 'full' && t !== 'normal') throw new Error(`expected full or normal, got "${text}"`);
  return t;
}

function parseRole(text: string): 'global' | 'regional' {
  if (text !== 'global' && text !== 'regional') throw new Error(`expected global or regional, got "${text}"`);
  return text;
}

function positiveDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw new Error(`must be greater than 0, got "${text}"`);
  return ms;
}

export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

/** Where a raw option value came from (for error messages). */
export type ValueSource = 'cli' | 'env' | 'default';

export interface RawValue {
  text: string;
  source: ValueSource;
}

/**
 * Resolves options from raw text values: explicit values (flags) win over
 * `env`, which wins over defaults. Throws OptionError naming the flag/variable.
 */
export function resolveOptions(specs: readonly OptionSpec[], given: Partial<Record<keyof ServerOptions, string>>, env: NodeJS.ProcessEnv = {}): Partial<ServerOptions> {
  const out: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const s of specs) {
    const flagName = s.flag.split(' ')[0];
    let raw: RawValue | null = null;
    if (given[s.key] !== undefined) raw = { text: String(given[s.key]), source: 'cli' };
    else if (env[s.env] !== undefined && env[s.env] !== '') raw = { text: env[s.env] as string, source: 'env' };
    else if (s.defaultText !== null) raw = { text: s.defaultText, source: 'default' };
    if (raw === null) {
      out[s.key] = null;
      continue;
    }
    try {
      out[s.key] = s.parse(raw.text);
    } catch (err) {
      const where = raw.source === 'env' ? `${s.env}` : raw.source === 'cli' ? flagName : `default of ${flagName}`;
      errors.push(`${where}: ${(err as Error).message}`);
    }
  }
  if (errors.length > 0) throw new OptionError(`invalid options:\n  ${errors.join('\n  ')}`);
  return out as Partial<ServerOptions>;
}

/** Full ServerOptions from flags and environment (see SERVE_OPTIONS). */
export function resolveServerOptions(given: Partial<Record<keyof ServerOptions, string>> = {}, env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const o = resolveOptions(SERVE_OPTIONS, given, env) as ServerOptions;
  checkRoleOptions(o);
  return o;
}

/** Options that go together: a relay needs its region, its upstreams, an address and a location. */
export function checkRoleOptions(o: ServerOptions): void {
  if (o.role !== 'regional') return;
  const missing: string[] = [];
  if (!o.region) missing.push('--region');
  if (!o.upstreams || o.upstreams.length === 0) missing.push('--upstream');
  if (!o.location) missing.push('--location');
  const specificHost = o.host !== '0.0.0.0' && o.host !== '::' && require('node:net').isIP(o.host) !== 0;
  if (!o.advertiseAddress && !specificHost) missing.push('--advertise-address (or a specific --host IP)');
  if (missing.length > 0) throw new OptionError(`--role regional needs ${missing.join(', ')}`);
}

/** Defaults with overrides, for embedding and tests (no environment read). */
export function defaultServerOptions(overrides: Partial<ServerOptions> = {}): ServerOptions {
  return { ...resolveServerOptions({}, {}), ...overrides };
}
