/**
 * The xDS gRPC server: ADS and the per-type discovery services, SotW and
 * delta, plus grpc.health.v1. Responses are pre-encoded bytes (identity
 * serializer); requests are decoded with Envoy's protos.
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
import type { StreamCallbacks, StreamInfo, XdsServiceName } from './stream-common';
import { SendBudget } from './send-budget';

type Methods = Record<string, grpc.MethodDefinition<DiscoveryRequest | DeltaDiscoveryRequest, Buffer>>;

const identity = (b: Buffer): Buffer => b;
const mustNotEncodeRequests = (): Buffer => {
  throw new Error('the server does not send requests');
};

function method(path: string, delta: boolean): grpc.MethodDefinition<DiscoveryRequest | DeltaDiscoveryRequest, Buffer> {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: mustNotEncodeRequests,
    requestDeserialize: delta ? decodeDeltaDiscoveryRequest : decodeDiscoveryRequest,
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
}

export class XdsServer {
  private readonly server: grpc.Server;
  private readonly streams = new Set<StreamInfo>();
  readonly health = new HealthImplementation({ '': 'SERVING' });
  private readonly callbacks: StreamCallbacks;
  private boundPort = 0;
  private readonly budget: SendBudget;

  constructor(private readonly opts: XdsServerOptions) {
    this.server = new grpc.Server({
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 5_000,
      'grpc.max_receive_message_length': 4 * 1024 * 1024,
    });
    this.callbacks = this.makeCallbacks();
    this.budget = new SendBudget(opts.maxBytesInFlight ?? 64 * 1024 * 1024);
    for (const [service, name, streamMethod, deltaMethod] of SERVICES) {
      const def: Methods = {
        [streamMethod]: method(`/${service}/${streamMethod}`, false),
        [deltaMethod]: method(`/${service}/${deltaMethod}`, true),
      };
      this.server.addService(def as grpc.ServiceDefinition, {
        [streamMethod]: (call: grpc.ServerDuplexStream<DiscoveryRequest, Buffer>) => {
          new SotwStream(call, opts.source, this.callbacks, name, this.budget);
        },
        [deltaMethod]: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, Buffer>) => {
          new DeltaStream(call, opts.source, this.callbacks, name, this.budget);
        },
      });
    }
    this.health.addToServer(this.server);
    for (const s of opts.extraServices ?? []) this.server.addService(s.definition, s.implementation);
  }

  private makeCallbacks(): StreamCallbacks {
    const m = this.opts.metrics;
    const log = this.opts.logger;
    const streams = m.gauge('edge_xds_streams', 'Open xDS streams', ['protocol', 'service', 'client_kind']);
    const responses = m.counter('edge_xds_responses_total', 'xDS responses sent', ['protocol', 'type', 'client_kind']);
    const bytes = m.counter('edge_xds_response_bytes_total', 'Bytes of xDS responses sent', ['protocol', 'type']);
    const carried = m.counter('edge_xds_response_resources_total', 'Resources carried by xDS responses (SotW EDS/RDS and delta: only the changed ones)', ['protocol', 'type']);
    const acks = m.histogram('edge_xds_push_ack_seconds', 'Time from sending a response to its ACK', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], ['type']);
    const nacks = m.counter('edge_xds_nacks_total', 'Responses rejected by proxies', ['type', 'client_kind']);
    const stale = m.counter('edge_xds_stale_requests_total', 'Requests answering an older nonce (ignored)', ['type']);
    const kindOf = (s: StreamInfo): string => s.proxy?.kind ?? 'unknown';
    const counted = new WeakSet<StreamInfo>();
    return {
      onStreamOpen: (s) => {
        this.streams.add(s);
        log.debug({ stream: s.id, peer: s.peer, protocol: s.protocol, service: s.service }, 'xds stream opened');
      },
      onStreamClose: (s) => {
        this.streams.delete(s);
        if (counted.has(s)) streams.dec({ protocol: s.protocol, service: s.service, client_kind: kindOf(s) });
        log.debug({ stream: s.id, node: s.proxy?.id }, 'xds stream closed');
      },
      onResponse: (s, kind, version, size, n, removed) => {
        if (!counted.has(s)) {
          counted.add(s);
          streams.inc({ protocol: s.protocol, service: s.service, client_kind: kindOf(s) });
        }
        responses.inc({ protocol: s.protocol, type: kind, client_kind: kindOf(s) });
        bytes.inc({ protocol: s.protocol, type: kind }, size);
        if (n > 0) carried.inc({ protocol: s.protocol, type: kind }, n);
        log.trace({ stream: s.id, node: s.proxy?.id, type: kind, version, bytes: size, resources: n, removed }, 'xds response');
      },
      onAck: (s, kind, version, latencyMs) => {
        acks.observe({ type: kind }, latencyMs / 1000);
        log.trace({ stream: s.id, node: s.proxy?.id, type: kind, version }, 'xds ack');
      },
      onNack: (s, kind, version, detail) => {
        nacks.inc({ type: kind, client_kind: kindOf(s) });
        log.warn({ stream: s.id, node: s.proxy?.id, type: kind, version, detail }, 'proxy rejected config (NACK)');
      },
      onStale: (_s, kind) => stale.inc({ type: kind }),
    };
  }

  /** Serves another gRPC service on the same port (call before start). */
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.server.addService(definition, implementation);
  }

  /** Binds host:port (0 = any free port) and returns the bound port. */
  async start(host: string, port: number): Promise<number> {
    const addr = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    this.boundPort = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return this.boundPort;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Open streams (for /v1/xds/connections and config dumps). */
  connections(): StreamInfo[] {
    return [...this.streams];
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
