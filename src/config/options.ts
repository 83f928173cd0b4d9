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
  /** Open mode (no TLS, no credentials): loopback only unless insecureBindAny. */
  insecure: boolean;
  /** Lets --insecure listen on a non-loopback interface. */
  insecureBindAny: boolean;
  /** SPIFFE trust domain of the identities this deployment issues. */
  trustDomain: string;
  /** Operator CA certificate (PEM; the chain up to the root may follow); null: the CA under <db dir>/pki. */
  caCert: string | null;
  /** Operator CA key (PEM), with caCert. */
  caKey: string | null;
  /** Extra DNS names / IPs of the server certificate (besides localhost, 127.0.0.1, --host and --advertise-address). */
  tlsSans: string[] | null;
  /** Lifetime of node and relay certificates issued at enrollment (ms). */
  certTtlMs: number;
  /** Plaintext xDS listener for proxyless gRPC (node credential in node metadata); null: off. */
  xdsPlaintextPort: number | null;
  /** Interface of the plaintext xDS listener. */
  xdsPlaintextHost: string;
  /** Who may read /metrics: 'loopback' (open on loopback, a credential elsewhere), 'open', 'credential'. */
  metricsAccess: 'loopback' | 'open' | 'credential';
  /** Regional tier in secure mode: folder with this relay's key.pem, cert.pem, ca.pem (from `edge-xds enroll --relay`). */
  tlsDir: string | null;
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
  /** A switch without a value (`--insecure`); given = "true". */
  boolean?: boolean;
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
  spec({
    key: 'insecure',
    flag: '--insecure',
    env: 'EDGE_XDS_INSECURE',
    description: 'open mode for local experiments: no TLS, no credentials; listens on loopback only unless --insecure-bind-any',
    defaultText: 'false',
    parse: parseBool,
    boolean: true,
  }),
  spec({
    key: 'insecureBindAny',
    flag: '--insecure-bind-any',
    env: 'EDGE_XDS_INSECURE_BIND_ANY',
    description: 'with --insecure: allow listening on a non-loopback interface (anyone who can reach the ports controls the mesh)',
    defaultText: 'false',
    parse: parseBool,
    boolean: true,
  }),
  spec({
    key: 'trustDomain',
    flag: '--trust-domain <domain>',
    env: 'EDGE_XDS_TRUST_DOMAIN',
    description: 'SPIFFE trust domain of node and relay identities (spiffe://<domain>/node/<id>)',
    defaultText: 'edge-xds.local',
    parse: parseTrustDomain,
  }),
  spec({
    key: 'caCert',
    flag: '--ca-cert <file>',
    env: 'EDGE_XDS_CA_CERT',
    description: "the operator's CA certificate, PEM (default: a CA created under <db folder>/pki)",
    defaultText: null,
    parse: parseNonEmpty,
  }),
  spec({ key: 'caKey', flag: '--ca-key <file>', env: 'EDGE_XDS_CA_KEY', description: 'the key of --ca-cert, PEM', defaultText: null, parse: parseNonEmpty }),
  spec({
    key: 'tlsSans',
    flag: '--tls-san <name>',
    env: 'EDGE_XDS_TLS_SAN',
    description: 'extra DNS name or IP of the server certificate (repeatable; localhost, 127.0.0.1, --host and --advertise-address are always in); env: comma-separated',
    defaultText: null,
    parse: parseNameList,
    repeatable: true,
  }),
  spec({
    key: 'certTtlMs',
    flag: '--cert-ttl <duration>',
    env: 'EDGE_XDS_CERT_TTL',
    description: 'lifetime of node and relay certificates issued at enrollment',
    defaultText: '24h',
    parse: positiveDuration,
  }),
  spec({
    key: 'xdsPlaintextPort',
    flag: '--xds-plaintext-port <port>',
    env: 'EDGE_XDS_XDS_PLAINTEXT_PORT',
    description: "plaintext xDS listener for proxyless gRPC clients (a stream needs the node's own credential in its node metadata); off unless set",
    defaultText: null,
    parse: parsePort,
  }),
  spec({
    key: 'xdsPlaintextHost',
    flag: '--xds-plaintext-host <host>',
    env: 'EDGE_XDS_XDS_PLAINTEXT_HOST',
    description: 'interface of the plaintext xDS listener',
    defaultText: '127.0.0.1',
    parse: parseHost,
  }),
  spec({
    key: 'metricsAccess',
    flag: '--metrics-access <who>',
    env: 'EDGE_XDS_METRICS_ACCESS',
    description: 'who may read /metrics in secure mode: loopback (open from 127.0.0.1/::1, a read credential otherwise), open, credential',
    defaultText: 'loopback',
    parse: parseMetricsAccess,
  }),
  spec({
    key: 'tlsDir',
    flag: '--tls-dir <dir>',
    env: 'EDGE_XDS_TLS_DIR',
    description: "regional, secure mode: folder with this relay's key.pem, cert.pem and ca.pem (written by `edge-xds enroll --relay`)",
    defaultText: null,
    parse: parseNonEmpty,
  }),
] as const;

function parseBool(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no') return false;
  throw new Error(`expected true or false, got "${text}"`);
}

const TRUST_DOMAIN_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
function parseTrustDomain(text: string): string {
  const t = text.trim();
  if (!TRUST_DOMAIN_RE.test(t)) throw new Error(`"${text}" is not a trust domain (lowercase DNS name, e.g. example.org)`);
  return t;
}

const DNS_NAME_RE = /^(?=.{1,253}$)(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
function parseNameList(text: string): string[] {
  const out = text
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
  for (const n of out) if (require('node:net').isIP(n) === 0 && !DNS_NAME_RE.test(n)) throw new Error(`"${n}" is neither an IP address nor a DNS name`);
  return out;
}

function parseMetricsAccess(text: string): 'loopback' | 'open' | 'credential' {
  if (text !== 'loopback' && text !== 'open' && text !== 'credential') throw new Error(`expected loopback, open or credential, got "${text}"`);
  return text;
}

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
  // Open mode without an explicit --host listens on loopback (the default 0.0.0.0 is for secure mode).
  if (o.insecure && given.host === undefined && (env.EDGE_XDS_HOST ?? '') === '') o.host = '127.0.0.1';
  checkRoleOptions(o);
  return o;
}

/** Options that go together: a relay needs its region, its upstreams, an address and a location. */
export function checkRoleOptions(o: ServerOptions): void {
  checkSecurityOptions(o);
  if (o.role !== 'regional') return;
  const missing: string[] = [];
  if (!o.region) missing.push('--region');
  if (!o.upstreams || o.upstreams.length === 0) missing.push('--upstream');
  if (!o.location) missing.push('--location');
  const specificHost = o.host !== '0.0.0.0' && o.host !== '::' && require('node:net').isIP(o.host) !== 0;
  if (!o.advertiseAddress && !specificHost) missing.push('--advertise-address (or a specific --host IP)');
  if (missing.length > 0) throw new OptionError(`--role regional needs ${missing.join(', ')}`);
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/** --insecure stays on loopback unless --insecure-bind-any; a CA comes as a cert and key pair. */
export function checkSecurityOptions(o: ServerOptions): void {
  if ((o.caCert === null) !== (o.caKey === null)) throw new OptionError('--ca-cert and --ca-key go together');
  if (!o.insecure) {
    if (o.apiToken) throw new OptionError('--api-token is for --insecure mode; in secure mode use the admin token (data/admin-token) or tokens from `edge-xds token create`');
    if (o.insecureBindAny) throw new OptionError('--insecure-bind-any only applies with --insecure');
    if (o.role === 'regional' && !o.tlsDir)
      throw new OptionError('--role regional in secure mode needs --tls-dir (the folder written by `edge-xds enroll --relay`), or --insecure');
    return;
  }
  if (o.insecureBindAny) return;
  const open = [o.host, ...(o.xdsPlaintextPort !== null ? [o.xdsPlaintextHost] : [])].filter((h) => !isLoopback(h));
  if (open.length > 0) {
    throw new OptionError(
      `--insecure listens on loopback only: --host ${open[0]} is not a loopback address. Use --host 127.0.0.1, or add --insecure-bind-any if anyone who can reach this address may control the mesh`,
    );
  }
}

/** Defaults with overrides, for embedding and tests (no environment read). */
export function defaultServerOptions(overrides: Partial<ServerOptions> = {}): ServerOptions {
  return { ...resolveServerOptions({}, {}), ...overrides };
}
