/**
 * A fleet worker process (child_process.fork): many ADS streams over a few
 * shared HTTP/2 channels (or, with mTLS, one TLS channel per proxy with its
 * own node certificate), each behaving like Envoy (wildcard CDS then LDS,
 * named EDS for every cluster, named RDS for the listener's route config,
 * ACK everything; delta ACKs by nonce). Decoding is cheap (fleet-wire): the
 * names, versions and bytes a proxy needs. Timings are epoch ms with
 * sub-millisecond precision (performance.timeOrigin + now()).
 */
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { TYPE_URL, envoyRoot, type ResourceKind } from '../../src/xds/protos';
import { decodeStrict } from '../helpers/envoy-validate';
import { RESOURCE_TYPE_NAME } from '../../src/xds/resources';
import { createHash } from 'node:crypto';
import { deltaRequest, parseEnvelope, parseResponse, rdsNamesOfListener, sotwRequest, type Envelope, type FleetNode } from './fleet-wire';
import type { ToWorker, FromWorker, StreamSummary, MarkResult } from './fleet-protocol';

const now = (): number => performance.timeOrigin + performance.now();
const SOTW = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const DELTA = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

let delta = false;
let strict = false;
const clients: grpc.Client[] = [];
const streams: Proxy[] = [];
const stats = { responses: 0, bytes: 0, errors: 0, firstError: '', strictErrors: 0, firstStrictError: '' };
/** Per response version: first receive time, last ACK time, ACK count (fan-out spread). */
const versions = new Map<string, { first: number; last: number; acks: number }>();
const MAX_VERSIONS = 5000;
/** Listener bytes -> RDS names: parsed once, shared by streams. */
const rdsCache = new Map<string, string[]>();
/** Delta: resource bytes by name|version (bounded), and interned strings so 10,000 proxies share them. */
const deltaBytes = new Map<string, Uint8Array>();
const interned = new Map<string, string>();
const intern = (s: string): string => {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size < 200_000) interned.set(s, s);
  return s;
};
/**
 * Delta: the resources of a response, parsed once per distinct content. Key:
 * a hash of the response without its nonce (streams in the same state get the
 * same bytes but for the nonce). Names and versions are interned.
 */
/** A hash of a response without its nonce: streams in the same state get the same bytes but for the nonce. */
function contentKey(buf: Buffer, env: Envelope): string {
  const h = createHash('sha1');
  if (env.nonceEnd > env.nonceStart) h.update(buf.subarray(0, env.nonceStart)).update(buf.subarray(env.nonceEnd));
  else h.update(buf);
  return h.digest('base64');
}

interface HeldResource {
  name: string;
  version: string;
}
const deltaParsed = new Map<string, HeldResource[]>();
function deltaResources(kind: ResourceKind, buf: Buffer, env: Envelope): HeldResource[] {
  const key = contentKey(buf, env);
  const hit = deltaParsed.get(key);
  if (hit) return hit;
  const list: HeldResource[] = [];
  for (const res of parseResponse(buf, true).resources) {
    const k = `${res.name}|${res.version}`;
    list.push({ name: intern(res.name), version: intern(res.version) });
    if (kind !== 'cluster' && !deltaBytes.has(k)) {
      if (deltaBytes.size > 5000) deltaBytes.delete(deltaBytes.keys().next().value as string);
      deltaBytes.set(k, Buffer.from(res.bytes)); // a copy: do not pin the response buffer
    }
    checkStrict(`${kind}/${k}`, kind, res.bytes);
  }
  if (deltaParsed.size > 256) deltaParsed.delete(deltaParsed.keys().next().value as string);
  deltaParsed.set(key, list);
  return list;
}
/** SotW: parsed responses (see Proxy.sotwHeld), and merged held maps by (previous map, response). */
interface SotwParsed {
  key: string;
  map: Map<string, Uint8Array>;
  names: string[];
}
const sotwCache = new Map<string, SotwParsed>();
const sotwMerged = new WeakMap<Map<string, Uint8Array>, Map<string, Map<string, Uint8Array>>>();
const SOTW_EMPTY = new Map<string, Uint8Array>();
function sotwParsed(kind: ResourceKind, buf: Buffer, env: Envelope): SotwParsed {
  let key: string;
  if (buf.length > 32 * 1024) key = `${kind}|${env.version}|${buf.length - (env.nonceEnd - env.nonceStart)}`;
  else {
    key = `${kind}|${contentKey(buf, env)}`;
  }
  const hit = sotwCache.get(key);
  if (hit) return hit;
  const r = parseResponse(buf, false);
  const map = new Map<string, Uint8Array>();
  for (const res of r.resources) {
    map.set(intern(res.name), kind === 'endpoint' || kind === 'listener' ? Buffer.from(res.bytes) : new Uint8Array(0));
    checkStrict(`${kind}|${env.version}/${res.name}`, kind, res.bytes);
  }
  const parsed = { key, map, names: [...map.keys()] };
  if (sotwCache.size > 512) sotwCache.delete(sotwCache.keys().next().value as string);
  sotwCache.set(key, parsed);
  return parsed;
}

/** Name lists shared by the proxies that hold the same list (their encoding is cached by identity). */
const lists = new Map<string, string[]>();
function sharedList(key: string, names: string[]): string[] {
  const hit = lists.get(key);
  if (hit) return hit;
  if (lists.size < 1024) lists.set(key, names);
  return names;
}

const strictSeen = new Set<string>();
let mark: { id: number; cluster: string; at: number } | null = null;

function sameToken(a: string | Uint8Array | undefined, b: string | Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || typeof a === 'string' || typeof b === 'string') return false;
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function checkStrict(key: string, kind: ResourceKind, bytes: Uint8Array): void {
  if (!strict || strictSeen.has(key)) return;
  strictSeen.add(key);
  try {
    decodeStrict(RESOURCE_TYPE_NAME[kind], Buffer.from(bytes));
  } catch (err) {
    stats.strictErrors++;
    stats.firstStrictError ||= `${kind} ${key}: ${(err as Error).message}`;
  }
}

class Proxy {
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private nodeSent = false;
  clusters: string[] = [];
  routeNames: string[] = [];
  /**
   * What the proxy holds per kind: name -> token (delta: the resource version;
   * SotW: the resource bytes, from a map shared by every stream at that version).
   */
  held: Record<ResourceKind, Map<string, string | Uint8Array>> = delta
    ? { cluster: new Map(), endpoint: new Map(), listener: new Map(), route: new Map() }
    : { cluster: SOTW_EMPTY, endpoint: SOTW_EMPTY, listener: SOTW_EMPTY, route: SOTW_EMPTY };
  readonly acked: Record<ResourceKind, boolean> = { cluster: false, endpoint: false, listener: false, route: false };
  edsNames = '';
  syncedAt = 0;
  markBase: string | Uint8Array | undefined;
  markAt = 0;
  markRecv = 0;
  markBytes = 0;
  markOthers = 0;

  constructor(
    readonly node: FleetNode,
    client: grpc.Client,
    readonly openedAt: number,
  ) {
    this.call = client.makeBidiStreamRequest(
      delta ? DELTA : SOTW,
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    this.call.on('data', (b: Buffer) => this.onData(b));
    this.call.on('error', (e: grpc.ServiceError) => {
      if (e.code === grpc.status.CANCELLED && closing) return;
      stats.errors++;
      stats.firstError ||= `${this.node.id}: ${e.message}`;
    });
    this.subscribe('cluster', []);
    this.subscribe('listener', []);
  }

  private first(): FleetNode | null {
    if (this.nodeSent) return null;
    this.nodeSent = true;
    return this.node;
  }

  private subscribe(kind: ResourceKind, names: string[]): void {
    this.call.write(delta ? deltaRequest(this.first(), TYPE_URL[kind], names, '') : sotwRequest(this.first(), TYPE_URL[kind], names, '', ''));
  }

  private onData(buf: Buffer): void {
    const at = now();
    stats.responses++;
    stats.bytes += buf.length;
    // The envelope only; resources are parsed once per distinct content and shared.
    const r = parseEnvelope(buf, delta);
    const kind = r.kind;
    if (!kind) return;
    let resources: readonly HeldResource[] = [];
    if (delta) {
      resources = deltaResources(kind, buf, r);
      const held = this.held[kind];
      for (const res of resources) held.set(res.name, res.version);
      for (const n of r.removed) held.delete(n);
    } else {
      const got = this.sotwHeld(kind, buf, r);
      this.held[kind] = got.held;
      resources = got.names.map((name) => ({ name, version: r.version }));
    }
    // ACK first (as Envoy does after applying), then look at what changed.
    if (delta) this.call.write(deltaRequest(null, TYPE_URL[kind], [], r.nonce));
    else this.call.write(sotwRequest(null, TYPE_URL[kind], this.namesFor(kind), r.version, r.nonce));
    const ackAt = now();
    this.acked[kind] = true;
    this.trackVersion(kind, r, at, ackAt);
    if (kind === 'cluster') this.onClusters();
    else if (kind === 'listener') this.onListeners();
    else if (kind === 'endpoint' && mark && this.markAt === 0) this.checkMark(r, resources, at, ackAt);
    if (this.syncedAt === 0 && this.complete()) this.syncedAt = ackAt;
  }

  /**
   * What a SotW proxy holds after a response. Listeners and clusters: exactly
   * the response. Endpoints and routes: the response's resources over what it
   * held (a SotW EDS/RDS response names only what changed once the proxy has
   * the full set; the held map is replaced, never mutated, so streams in the
   * same state share one map). Parsed once per distinct response: by version
   * for large responses (the full set of a version is the same bytes for
   * every stream), by content without the nonce for small ones.
   */
  private sotwHeld(kind: ResourceKind, buf: Buffer, env: Envelope): { held: Map<string, Uint8Array>; names: string[] } {
    const parsed = sotwParsed(kind, buf, env);
    if (kind === 'listener' || kind === 'cluster') return { held: parsed.map, names: parsed.names };
    const prev = this.held[kind] as Map<string, Uint8Array>;
    let byPrev = sotwMerged.get(prev);
    if (!byPrev) sotwMerged.set(prev, (byPrev = new Map()));
    let merged = byPrev.get(parsed.key);
    if (!merged) {
      merged = new Map(prev);
      for (const [n, b] of parsed.map) merged.set(n, b);
      if (byPrev.size > 64) byPrev.delete(byPrev.keys().next().value as string);
      byPrev.set(parsed.key, merged);
    }
    return { held: merged, names: parsed.names };
  }

  /** The bytes of a held resource (listeners, ClusterLoadAssignments). */
  bytesOf(kind: ResourceKind, name: string): Uint8Array | undefined {
    const t = this.held[kind].get(name);
    if (t === undefined) return undefined;
    return typeof t === 'string' ? deltaBytes.get(`${name}|${t}`) : t;
  }

  private namesFor(kind: ResourceKind): string[] {
    return kind === 'endpoint' ? this.clusters : kind === 'route' ? this.routeNames : [];
  }

  private onClusters(): void {
    const names = [...this.held.cluster.keys()].sort();
    const key = names.join(',');
    if (key === this.edsNames) return;
    const prev = new Set(this.clusters);
    this.edsNames = key;
    this.clusters = sharedList(key, names);
    if (delta)
      this.call.write(
        deltaRequest(
          null,
          TYPE_URL.endpoint,
          names.filter((n) => !prev.has(n)),
          '',
        ),
      );
    else this.subscribe('endpoint', names);
  }

  private onListeners(): void {
    const names = new Set<string>();
    for (const name of this.held.listener.keys()) {
      const bytes = this.bytesOf('listener', name);
      if (!bytes) continue;
      const k = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
      let rds = rdsCache.get(k);
      if (!rds) rdsCache.set(k, (rds = rdsNamesOfListener(bytes)));
      for (const n of rds) names.add(n);
    }
    const sorted = [...names].sort();
    const key = sorted.join(',');
    if (key === this.routeNames.join(',')) return;
    const prev = new Set(this.routeNames);
    this.routeNames = sharedList(key, sorted);
    if (delta)
      this.call.write(
        deltaRequest(
          null,
          TYPE_URL.route,
          sorted.filter((n) => !prev.has(n)),
          '',
        ),
      );
    else this.subscribe('route', sorted);
  }

  complete(): boolean {
    if (!this.acked.cluster || !this.acked.listener || this.clusters.length === 0 || this.held.listener.size === 0) return false;
    for (const c of this.clusters) if (!this.held.endpoint.has(c)) return false;
    for (const n of this.routeNames) if (!this.held.route.has(n)) return false;
    return this.acked.endpoint && (this.routeNames.length === 0 || this.acked.route);
  }

  private trackVersion(kind: ResourceKind, r: Envelope, at: number, ackAt: number): void {
    const key = `${kind}|${r.version}`;
    let v = versions.get(key);
    if (!v) {
      if (versions.size >= MAX_VERSIONS) return;
      versions.set(key, (v = { first: at, last: ackAt, acks: 0 }));
    }
    v.first = Math.min(v.first, at);
    v.last = Math.max(v.last, ackAt);
    v.acks++;
  }

  startMark(cluster: string): void {
    this.markBase = this.held.endpoint.get(cluster);
    this.markAt = 0;
    this.markRecv = 0;
    this.markBytes = 0;
    this.markOthers = 0;
  }

  private checkMark(r: Envelope, resources: readonly HeldResource[], at: number, ackAt: number): void {
    const cluster = mark!.cluster;
    const cur = this.held.endpoint.get(cluster);
    if (sameToken(cur, this.markBase)) return;
    this.markAt = ackAt;
    this.markRecv = at;
    this.markBytes = r.size;
    this.markOthers = resources.filter((x) => x.name !== cluster).length;
  }

  summary(cluster: string | null): StreamSummary {
    const cla = cluster ? this.bytesOf('endpoint', cluster) : undefined;
    return {
      id: this.node.id,
      clusters: this.clusters.length,
      endpoints: this.held.endpoint.size,
      listeners: this.held.listener.size,
      routes: this.held.route.size,
      complete: this.complete(),
      cla: cla ? Buffer.from(cla).toString('base64') : null,
    };
  }

  close(): void {
    this.call.cancel();
  }
}

let closing = false;

function send(m: FromWorker): void {
  process.send!(m);
}

function handle(m: ToWorker): void {
  switch (m.cmd) {
    case 'open': {
      delta = m.mode === 'delta';
      strict = m.strict;
      const channelOptions: grpc.ChannelOptions = {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_receive_message_length': -1,
        'grpc-node.flow_control_window': 4 * 1024 * 1024,
        'grpc.keepalive_time_ms': 300_000,
        // The server certificate names localhost as well as 127.0.0.1; an IP as TLS ServerName draws a deprecation warning (RFC 6066).
        ...(m.tls ? { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' } : {}),
      };
      const tls = m.tls;
      // Insecure: the proxies share `channels` HTTP/2 connections. Secure: a connection's client certificate is one
      // node's identity (and the server checks node.id against it), so each proxy has its own channel, as an Envoy has.
      if (!tls) for (let i = 0; i < m.channels; i++) clients.push(new grpc.Client(m.target, grpc.credentials.createInsecure(), channelOptions));
      // Each proxy's credentials (its TLS context: key, chain, CA) are made before the first stream opens, so that
      // the sync clock does not count them: real proxies make theirs on their own machines, in parallel.
      const caPem = tls ? Buffer.from(tls.caPem) : null;
      const creds = tls ? tls.identities.map((id) => grpc.credentials.createSsl(caPem, Buffer.from(id.keyPem), Buffer.from(id.certPem))) : [];
      const clientOf = (i: number): grpc.Client => {
        if (!tls) return clients[i % clients.length];
        const c = new grpc.Client(m.target, creds[i]!, channelOptions);
        clients.push(c);
        return c;
      };
      // Open in small batches so the server sees a ramp, not one burst.
      let i = 0;
      const cpu0 = process.cpuUsage();
      const cpuAtFirstMs = (cpu0.user + cpu0.system) / 1000;
      const step = (): void => {
        const end = Math.min(m.nodes.length, i + m.batch);
        for (; i < end; i++) streams.push(new Proxy(m.nodes[i], clientOf(i), now()));
        if (i < m.nodes.length) setTimeout(step, m.batchDelayMs);
        else send({ type: 'opened', count: streams.length, at: now(), firstAt: streams[0]?.openedAt ?? now(), cpuAtFirstMs });
      };
      step();
      return;
    }
    case 'stats': {
      let synced = 0;
      let lastSync = 0;
      for (const s of streams)
        if (s.syncedAt) {
          synced++;
          lastSync = Math.max(lastSync, s.syncedAt);
        }
      const cpu = process.cpuUsage();
      send({ type: 'stats', req: m.req, streams: streams.length, synced, lastSync, ...stats, cpuMs: (cpu.user + cpu.system) / 1000 });
      return;
    }
    case 'sync-times':
      send({ type: 'sync-times', req: m.req, times: streams.map((s) => (s.syncedAt ? s.syncedAt - s.openedAt : -1)) });
      return;
    case 'mark':
      mark = { id: m.id, cluster: m.cluster, at: m.at };
      for (const s of streams) s.startMark(m.cluster);
      send({ type: 'marked', req: m.req });
      return;
    case 'collect': {
      const res: MarkResult = { times: [], recv: [], bytes: [], others: 0, waiting: 0 };
      for (const s of streams) {
        if (s.markAt) {
          res.times.push(s.markAt);
          res.recv.push(s.markRecv);
          res.bytes.push(s.markBytes);
          res.others += s.markOthers;
        } else res.waiting++;
      }
      send({ type: 'collected', req: m.req, result: res });
      return;
    }
    case 'versions': {
      const out = [...versions.entries()].map(([key, v]) => ({ key, ...v }));
      if (m.clear) versions.clear();
      send({ type: 'versions', req: m.req, versions: out });
      return;
    }
    case 'summary':
      send({ type: 'summary', req: m.req, streams: streams.map((s) => s.summary(m.cluster)) });
      return;
    case 'close':
      closing = true;
      for (const s of streams) s.close();
      for (const c of clients) c.close();
      setTimeout(() => process.exit(0), 100);
      return;
  }
}

envoyRoot(); // load Envoy's protos before any stream opens (listeners are decoded fully)
process.on('message', (m: ToWorker) => handle(m));
process.on('disconnect', () => process.exit(0));
