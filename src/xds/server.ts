/**
 * The xDS gRPC server: ADS and the per-type discovery services, SotW and
 * delta, plus grpc.health.v1. Responses are pre-encoded bytes (identity
 * serializer); requests are decoded with Envoy's protos.
 *
 * What a client can make it hold is bounded (limits.ts): request size,
 * streams per connection and per node id; refusals end the stream with a
 * status naming the limit and are counted in edge_xds_refused_streams_total.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { ResourceKind } from './protos';
import type { SnapshotSource } from './source';
import { SotwStream } from './sotw';
import { DeltaStream } from './delta';
import { decodeDeltaDiscoveryRequest, decodeDiscoveryRequest, serializeOutgoing, type DeltaDiscoveryRequest, type DiscoveryRequest } from './wire';
import type { Refusal, RefusalReason, StreamCallbacks, StreamInfo, XdsProtocol, XdsServiceName } from './stream-callbacks';
import { RejectedRequest } from './stream';
import { SharedStreamCaches } from './stream-caches';
import { SendBudget } from './send-budget';
import { XDS_LIMITS, type XdsServerLimits } from './limits';
import { boundedString } from './proxy';
import { withScannedNode } from './node-scan';

type Incoming = DiscoveryRequest | DeltaDiscoveryRequest | RejectedRequest;
type Methods = Record<string, grpc.MethodDefinition<Incoming, Buffer>>;

const identity = (b: Buffer): Buffer => b;
const mustNotEncodeRequests = (): Buffer => {
  throw new Error('the server does not send requests');
};

/**
 * The request decoder of a method: a request over the xDS limit is not
 * decoded, and one that does not decode ends the stream with
 * INVALID_ARGUMENT (grpc-js would answer INTERNAL without a reason).
 */
function guarded<T>(decode: (buf: Buffer) => T, what: string, maxBytes: number): (buf: Buffer) => T | RejectedRequest {
  return (buf) => {
    if (buf.length > maxBytes) {
      const details = `${what} of ${buf.length} bytes is over the xDS request limit of ${maxBytes} bytes`;
      return new RejectedRequest({ reason: 'request_too_large', code: grpc.status.RESOURCE_EXHAUSTED, details });
    }
    try {
      return decode(buf);
    } catch (err) {
      const why = boundedString(err instanceof Error ? err.message : String(err), 200);
      return new RejectedRequest({ reason: 'malformed_request', code: grpc.status.INVALID_ARGUMENT, details: `malformed ${what}: ${why}` });
    }
  };
}

function method(path: string, delta: boolean, maxBytes: number): grpc.MethodDefinition<Incoming, Buffer> {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: mustNotEncodeRequests,
    requestDeserialize: delta
      ? guarded(withScannedNode(decodeDeltaDiscoveryRequest, 1), 'DeltaDiscoveryRequest', maxBytes)
      : guarded(withScannedNode(decodeDiscoveryRequest, 2), 'DiscoveryRequest', maxBytes),
    responseSerialize: serializeOutgoing as (b: Buffer) => Buffer,
    responseDeserialize: identity,
  };
}

/** Service name, stream method, delta method, for each xDS service we serve. */
const SERVICES: ReadonlyArray<[string, XdsServiceName, string, string]> = [
  ['envoy.service.discovery.v3.AggregatedDiscoveryService', 'ads', 'StreamAggregatedResources', 'DeltaAggregatedResources'],
  ['envoy.service.cluster.v3.ClusterDiscoveryService', 'cluster', 'StreamClusters', 'DeltaClusters'],
  ['envoy.service.endpoint.v3.EndpointDiscoveryService', 'endpoint', 'StreamEndpoints', 'DeltaEndpoints'],
  ['envoy.service.listener.v3.ListenerDiscoveryService', 'listener', 'StreamListeners', 'DeltaListeners'],
  ['envoy.service.route.v3.RouteDiscoveryService', 'route', 'StreamRoutes', 'DeltaRoutes'],
];

export interface XdsServerOptions {
  source: SnapshotSource;
  logger: Logger;
  metrics: Metrics;
  /**
   * Server-wide bound on response bytes written and not yet taken by HTTP/2
   * (streams wait their turn beyond it); 0 = unbounded. Default 64 MiB.
   */
  maxBytesInFlight?: number;
  /** Extra gRPC services to serve on the same port (the relay sync service). */
  extraServices?: Array<{ definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }>;
  /** Overrides of the request-size and stream caps (defaults: XDS_LIMITS). */
  limits?: Partial<XdsServerLimits>;
  /**
   * Secure mode: decides on the first request of every stream whether its
   * client may have this node's config (null: admit). `credential` is the
   * node credential in node.metadata (plaintext listener).
   */
  authorize?: (s: StreamInfo, credential: string | null) => Refusal | null;
  /** Secure mode: the TLS credentials of the xDS port (default: plaintext). */
  credentials?: grpc.ServerCredentials;
}

/** At most one warning per refusal reason per interval; the rest are counted into the next one. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export class XdsServer {
  private readonly server: grpc.Server;
  private readonly streams = new Set<StreamInfo>();
  readonly health = new HealthImplementation({ '': 'SERVING' });
  private readonly callbacks: StreamCallbacks;
  private boundPort = 0;
  private readonly budget: SendBudget;
  /** What this server's streams share (subscriptions, encoded responses, diffs); dropped with the server. */
  private readonly caches = new SharedStreamCaches();
  readonly limits: XdsServerLimits;
  /** Open xDS streams per HTTP/2 connection (by peer address:port, unique per connection). */
  private readonly perConnection = new Map<string, number>();
  /** Open, admitted xDS streams per node id. */
  private readonly perNode = new Map<string, number>();
  private readonly nodeAdmitted = new WeakSet<StreamInfo>();
  private readonly refusalLog = new Map<RefusalReason, { at: number; suppressed: number }>();
  private refusedCounter: ((reason: RefusalReason) => void) | null = null;

  constructor(private readonly opts: XdsServerOptions) {
    this.limits = {
      maxRequestBytes: opts.limits?.maxRequestBytes ?? XDS_LIMITS.maxRequestBytes,
      maxStreamsPerConnection: opts.limits?.maxStreamsPerConnection ?? XDS_LIMITS.maxStreamsPerConnection,
      maxStreamsPerNode: opts.limits?.maxStreamsPerNode ?? XDS_LIMITS.maxStreamsPerNode,
    };
    this.server = new grpc.Server({
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
      // The port's limit, relay sync included; xDS methods apply their own lower one (guarded).
      'grpc.max_receive_message_length': Math.max(XDS_LIMITS.transportMaxReceiveBytes, this.limits.maxRequestBytes),
      // Above the xDS cap, so an extra xDS stream is refused with a status rather than queued by the client.
      'grpc.max_concurrent_streams': this.limits.maxStreamsPerConnection + XDS_LIMITS.transportStreamsHeadroom,
    });
    this.callbacks = this.makeCallbacks();
    this.budget = new SendBudget(opts.maxBytesInFlight ?? 64 * 1024 * 1024);
    for (const [service, name, streamMethod, deltaMethod] of SERVICES) {
      const def: Methods = {
        [streamMethod]: method(`/${service}/${streamMethod}`, false, this.limits.maxRequestBytes),
        [deltaMethod]: method(`/${service}/${deltaMethod}`, true, this.limits.maxRequestBytes),
      };
      this.server.addService(def as grpc.ServiceDefinition, {
        [streamMethod]: (call: grpc.ServerDuplexStream<DiscoveryRequest | RejectedRequest, Buffer>) => {
          if (this.admitConnection(call, 'sotw', name)) new SotwStream(call, opts.source, this.callbacks, name, this.budget, this.caches);
        },
        [deltaMethod]: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest | RejectedRequest, Buffer>) => {
          if (this.admitConnection(call, 'delta', name)) new DeltaStream(call, opts.source, this.callbacks, name, this.budget, this.caches);
        },
      });
    }
    this.health.addToServer(this.server);
    for (const s of opts.extraServices ?? []) this.server.addService(s.definition, s.implementation);
  }

  /** Whether a new stream fits its connection's cap; when not, it is ended here with RESOURCE_EXHAUSTED. */
  private admitConnection(call: grpc.ServerDuplexStream<Incoming, Buffer>, protocol: XdsProtocol, service: XdsServiceName): boolean {
    const peer = call.getPeer();
    const max = this.limits.maxStreamsPerConnection;
    if ((this.perConnection.get(peer) ?? 0) < max) return true;
    const refusal: Refusal = {
      reason: 'streams_per_connection',
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: `this connection already has ${max} open xDS streams (the limit per connection); open another connection`,
    };
    this.noteRefusal(refusal, { peer, protocol, service });
    // grpc-js turns an 'error' event into the stream's final status.
    call.emit('error', Object.assign(new Error(refusal.details), { code: refusal.code, details: refusal.details }));
    return false;
  }

  /** Counts a refusal and logs it (no request content: the node id, peer and limit only), rate-limited per reason. */
  private noteRefusal(r: Refusal, where: { stream?: number; peer: string; node?: string; protocol: XdsProtocol; service: XdsServiceName }): void {
    this.refusedCounter?.(r.reason);
    const now = Date.now();
    const last = this.refusalLog.get(r.reason);
    if (last && now - last.at < REFUSAL_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.refusalLog.set(r.reason, { at: now, suppressed: 0 });
    const node = where.node === undefined ? undefined : boundedString(where.node, 128);
    this.opts.logger.warn({ ...where, node, reason: r.reason, details: r.details, suppressedSinceLast: last?.suppressed ?? 0 }, 'xds stream refused');
  }

  private static bump(m: Map<string, number>, key: string, by: number): void {
    const n = (m.get(key) ?? 0) + by;
    if (n > 0) m.set(key, n);
    else m.delete(key);
  }

  private makeCallbacks(): StreamCallbacks {
    const m = this.opts.metrics;
    const log = this.opts.logger;
    const refused = m.counter('edge_xds_refused_streams_total', 'xDS streams ended by the server: over a stream cap, request too large or malformed, invalid request', ['reason']);
    this.refusedCounter = (reason) => refused.inc({ reason });
    const streams = m.gauge('edge_xds_streams', 'Open xDS streams', ['protocol', 'service', 'client_kind']);
    const responses = m.counter('edge_xds_responses_total', 'xDS responses sent', ['protocol', 'type', 'client_kind']);
    const bytes = m.counter('edge_xds_response_bytes_total', 'Bytes of xDS responses sent', ['protocol', 'type']);
    const carried = m.counter('edge_xds_response_resources_total', 'Resources carried by xDS responses (SotW EDS/RDS and delta: only the changed ones)', ['protocol', 'type']);
    const acks = m.histogram('edge_xds_push_ack_seconds', 'Time from sending a response to its ACK', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], ['type']);
    const nacks = m.counter('edge_xds_nacks_total', 'Responses rejected by proxies', ['type', 'client_kind']);
    const stale = m.counter('edge_xds_stale_requests_total', 'Requests answering an older nonce (ignored)', ['type']);
    const clientKind = (s: StreamInfo): string => s.proxy?.kind ?? 'unknown';
    const counted = new WeakSet<StreamInfo>();
    return {
      onStreamOpen: (s) => {
        this.streams.add(s);
        XdsServer.bump(this.perConnection, s.peer, 1);
        log.debug({ stream: s.id, peer: s.peer, service: s.service }, 'xds stream opened');
      },
      onStreamClose: (s) => {
        this.streams.delete(s);
        XdsServer.bump(this.perConnection, s.peer, -1);
        if (this.nodeAdmitted.has(s) && s.proxy) XdsServer.bump(this.perNode, s.proxy.id, -1);
        if (counted.has(s)) streams.dec({ protocol: s.protocol, service: s.service, client_kind: clientKind(s) });
        log.debug({ stream: s.id, node: s.proxy?.id }, 'xds stream closed');
      },
      onIdentify: (s, credential) => {
        const denied = this.opts.authorize?.(s, credential) ?? null;
        if (denied) return denied;
        const id = s.proxy!.id;
        const max = this.limits.maxStreamsPerNode;
        if ((this.perNode.get(id) ?? 0) >= max) {
          const shown = boundedString(id, 128);
          return {
            reason: 'streams_per_node',
            code: grpc.status.RESOURCE_EXHAUSTED,
            details: `node "${shown}" already has ${max} open xDS streams (the limit per node id)`,
          };
        }
        this.nodeAdmitted.add(s);
        XdsServer.bump(this.perNode, id, 1);
        return null;
      },
      onRefused: (s, r) => this.noteRefusal(r, { stream: s.id, peer: s.peer, node: s.proxy?.id, protocol: s.protocol, service: s.service }),
      onError: (s, err) => log.error({ stream: s.id, node: s.proxy?.id, err }, 'xds stream failed handling a request'),
      onResponse: (s, kind, version, size, n, removed) => {
        if (!counted.has(s)) {
          counted.add(s);
          streams.inc({ protocol: s.protocol, service: s.service, client_kind: clientKind(s) });
        }
        responses.inc({ protocol: s.protocol, type: kind, client_kind: clientKind(s) });
        bytes.inc({ protocol: s.protocol, type: kind }, size);
        if (n > 0) carried.inc({ protocol: s.protocol, type: kind }, n);
        log.trace({ stream: s.id, node: s.proxy?.id, type: kind, version, bytes: size, resources: n, removed }, 'xds response');
      },
      onAck: (s, kind, version, latencyMs) => {
        acks.observe({ type: kind }, latencyMs / 1000);
        log.trace({ stream: s.id, node: s.proxy?.id, type: kind, version }, 'xds ack');
      },
      onNack: (s, kind, version, detail) => {
        nacks.inc({ type: kind, client_kind: clientKind(s) });
        log.warn({ stream: s.id, node: s.proxy?.id, type: kind, version, detail }, 'proxy rejected config (NACK)');
      },
      onStale: (_s, kind) => stale.inc({ type: kind }),
    };
  }

  /** Serves another gRPC service on the same port (call before start). */
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.server.addService(definition, implementation);
  }

  /** Binds host:port (0 = any free port) with the server's credentials (TLS in secure mode) and returns the bound port. */
  async start(host: string, port: number): Promise<number> {
    this.boundPort = await this.bind(host, port, this.opts.credentials ?? grpc.ServerCredentials.createInsecure());
    return this.boundPort;
  }

  /**
   * Secure mode: a second, plaintext listener on the same server (proxyless
   * gRPC clients that cannot do TLS; `authorize` requires the node credential
   * there). Returns the bound port.
   */
  async startPlaintext(host: string, port: number): Promise<number> {
    return this.bind(host, port, grpc.ServerCredentials.createInsecure());
  }

  private bind(host: string, port: number, creds: grpc.ServerCredentials): Promise<number> {
    const addr = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise<number>((resolve, reject) => this.server.bindAsync(addr, creds, (err, p) => (err ? reject(err) : resolve(p))));
  }

  /** Ends every open stream of a node id (revocation); returns how many. */
  endStreamsOf(nodeId: string, code: grpc.status, details: string): number {
    const mine = [...this.streams].filter((s) => s.proxy?.id === nodeId);
    for (const s of mine) s.terminate(code, details);
    return mine.length;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Open streams (for /v1/xds/connections and config dumps). */
  connections(): StreamInfo[] {
    return [...this.streams];
  }

  /**
   * One page of the open streams, in opening order (stream ids increase):
   * those with an id above `after`, at most `limit`, and the cursor of the
   * next page (null on the last). A stream closing between two pages does
   * not shift the next one.
   */
  connectionsPage(after: number, limit: number): { streams: StreamInfo[]; total: number; next: number | null } {
    const page: StreamInfo[] = [];
    let more = false;
    for (const s of this.streams) {
      if (s.id <= after) continue;
      if (page.length === limit) {
        more = true;
        break;
      }
      page.push(s);
    }
    return { streams: page, total: this.streams.size, next: more ? page[page.length - 1]!.id : null };
  }

  /** How many streams, connections and node ids are being tracked (tests: nothing leaks). */
  tracked(): { streams: number; connections: number; nodes: number } {
    return { streams: this.streams.size, connections: this.perConnection.size, nodes: this.perNode.size };
  }

  streamsOf(nodeId: string): StreamInfo[] {
    return [...this.streams].filter((s) => s.proxy?.id === nodeId);
  }

  /** Stops accepting, gives open streams up to graceMs to finish, then cuts them. */
  async close(graceMs = 1000): Promise<void> {
    this.health.setStatus('', 'NOT_SERVING');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Cuts every stream at once (tests of reconnects, relay failover). */
  forceClose(): void {
    this.server.forceShutdown();
  }
}

export type { ResourceKind };
