/**
 * A raw xDS client for tests and the fleet simulator: speaks ADS (SotW or
 * delta) like Envoy does, and decodes every response strictly with Envoy's
 * own protos (an unknown field fails the decode).
 */
import * as grpc from '@grpc/grpc-js';
import { envoyType, kindOfTypeUrl, TYPE_URL, type ResourceKind } from '../../src/xds/protos';
import { decodeStrict } from './envoy-validate';
import { RESOURCE_TYPE_NAME } from '../../src/xds/resources';
import { encodeDeltaDiscoveryRequest, encodeDiscoveryRequest } from '../../src/xds/wire';
import { toProtoStruct } from './raw-xds';

export interface XdsNode {
  id: string;
  cluster?: string;
  user_agent_name?: string;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  metadata?: Record<string, unknown>;
}

export interface ReceivedResource {
  name: string;
  version: string; // delta: Resource.version; SotW: ''
  bytes: Buffer;
  json: Record<string, unknown>;
}

export interface Received {
  kind: ResourceKind;
  typeUrl: string;
  version: string; // version_info or system_version_info
  nonce: string;
  resources: ReceivedResource[];
  removed: string[];
  at: number;
  size: number;
}

const RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';
const DELTA_RESPONSE = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';

function nameOf(kind: ResourceKind, json: Record<string, unknown>): string {
  return String(kind === 'endpoint' ? (json.cluster_name ?? json.clusterName) : json.name);
}

interface AnyMsg {
  type_url: string;
  value: Uint8Array;
}

function decodeResponse(buf: Buffer, delta: boolean): Received {
  const t = envoyType(delta ? DELTA_RESPONSE : RESPONSE);
  decodeStrict(delta ? DELTA_RESPONSE : RESPONSE, buf); // no unknown fields anywhere
  const msg = t.toObject(t.decode(buf), { longs: String, enums: String, defaults: true, arrays: true }) as Record<string, unknown>;
  const typeUrl = String(msg.type_url);
  const kind = kindOfTypeUrl(typeUrl);
  if (!kind) throw new Error(`response with unexpected type_url ${typeUrl}`);
  const resources: ReceivedResource[] = [];
  if (delta) {
    for (const r of msg.resources as Array<{ name: string; version: string; resource: AnyMsg }>) {
      if (r.resource.type_url !== typeUrl) throw new Error(`resource ${r.name} has type ${r.resource.type_url} in a ${typeUrl} response`);
      const bytes = Buffer.from(r.resource.value);
      const json = decodeStrict(RESOURCE_TYPE_NAME[kind], bytes);
      if (nameOf(kind, json) !== r.name) throw new Error(`delta resource name ${r.name} differs from the resource's own name ${nameOf(kind, json)}`);
      resources.push({ name: r.name, version: r.version, bytes, json });
    }
  } else {
    for (const a of msg.resources as AnyMsg[]) {
      if (a.type_url !== typeUrl) throw new Error(`resource of type ${a.type_url} in a ${typeUrl} response`);
      const bytes = Buffer.from(a.value);
      const json = decodeStrict(RESOURCE_TYPE_NAME[kind], bytes);
      resources.push({ name: nameOf(kind, json), version: '', bytes, json });
    }
  }
  return {
    kind,
    typeUrl,
    version: String(delta ? msg.system_version_info : msg.version_info),
    nonce: String(msg.nonce),
    resources,
    removed: (msg.removed_resources as string[] | undefined) ?? [],
    at: Date.now(),
    size: buf.length,
  };
}

const PATHS = {
  ads: ['/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources'],
  cluster: ['/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters', '/envoy.service.cluster.v3.ClusterDiscoveryService/DeltaClusters'],
  endpoint: ['/envoy.service.endpoint.v3.EndpointDiscoveryService/StreamEndpoints', '/envoy.service.endpoint.v3.EndpointDiscoveryService/DeltaEndpoints'],
  listener: ['/envoy.service.listener.v3.ListenerDiscoveryService/StreamListeners', '/envoy.service.listener.v3.ListenerDiscoveryService/DeltaListeners'],
  route: ['/envoy.service.route.v3.RouteDiscoveryService/StreamRoutes', '/envoy.service.route.v3.RouteDiscoveryService/DeltaRoutes'],
} as const;

export interface XdsClientOptions {
  delta?: boolean;
  service?: keyof typeof PATHS;
  /** Share one channel between many streams (the fleet simulator). */
  client?: grpc.Client;
}

export class XdsClient {
  readonly delta: boolean;
  private readonly client: grpc.Client;
  private readonly ownClient: boolean;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private readonly queue: Received[] = [];
  private waiters: Array<(r: Received) => void> = [];
  private sentNode = false;
  error: grpc.ServiceError | Error | null = null;
  ended = false;
  readonly received: Received[] = [];

  constructor(
    target: string,
    readonly node: XdsNode,
    opts: XdsClientOptions = {},
  ) {
    this.delta = opts.delta ?? false;
    this.ownClient = !opts.client;
    this.client = opts.client ?? new grpc.Client(target, grpc.credentials.createInsecure());
    const path = PATHS[opts.service ?? 'ads'][this.delta ? 1 : 0];
    this.call = this.client.makeBidiStreamRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    this.call.on('data', (buf: Buffer) => {
      let r: Received;
      try {
        r = decodeResponse(buf, this.delta);
      } catch (err) {
        this.error = err as Error;
        this.call.cancel();
        return;
      }
      this.received.push(r);
      const w = this.waiters.shift();
      if (w) w(r);
      else this.queue.push(r);
    });
    this.call.on('error', (err) => (this.error = err));
    this.call.on('end', () => (this.ended = true));
  }

  private nodeField(): Record<string, unknown> | undefined {
    if (this.sentNode) return undefined;
    this.sentNode = true;
    const md = this.node.metadata;
    return {
      id: this.node.id,
      cluster: this.node.cluster ?? 'test',
      user_agent_name: this.node.user_agent_name ?? 'envoy',
      locality: this.node.locality ?? {},
      metadata: md ? toProtoStruct(md) : undefined,
    };
  }

  /** SotW request. */
  request(kind: ResourceKind, names: string[] = [], ack?: { version: string; nonce: string }, errorDetail?: string): void {
    const req: Record<string, unknown> = {
      node: this.nodeField(),
      type_url: TYPE_URL[kind],
      resource_names: names,
      version_info: ack?.version ?? '',
      response_nonce: ack?.nonce ?? '',
    };
    if (errorDetail) req.error_detail = { code: 3, message: errorDetail };
    this.call.write(encodeDiscoveryRequest(req));
  }

  /** ACK a SotW response, keeping (or changing) the subscription. */
  ack(r: Received, names?: string[]): void {
    if (this.delta) return this.deltaRequest(r.kind, { nonce: r.nonce });
    this.request(r.kind, names ?? this.lastNames.get(r.kind) ?? [], { version: r.version, nonce: r.nonce });
  }

  nack(r: Received, message: string, lastAckedVersion = ''): void {
    if (this.delta) return this.deltaRequest(r.kind, { nonce: r.nonce, errorDetail: message });
    this.request(r.kind, this.lastNames.get(r.kind) ?? [], { version: lastAckedVersion, nonce: r.nonce }, message);
  }

  private readonly lastNames = new Map<ResourceKind, string[]>();
  subscribe(kind: ResourceKind, names: string[], version = ''): void {
    this.lastNames.set(kind, names);
    this.request(kind, names, { version, nonce: '' });
  }

  deltaRequest(kind: ResourceKind, p: { subscribe?: string[]; unsubscribe?: string[]; nonce?: string; errorDetail?: string; initial?: Record<string, string> } = {}): void {
    const req: Record<string, unknown> = {
      node: this.nodeField(),
      type_url: TYPE_URL[kind],
      resource_names_subscribe: p.subscribe ?? [],
      resource_names_unsubscribe: p.unsubscribe ?? [],
      initial_resource_versions: p.initial ?? {},
      response_nonce: p.nonce ?? '',
    };
    if (p.errorDetail) req.error_detail = { code: 3, message: p.errorDetail };
    this.call.write(encodeDeltaDiscoveryRequest(req));
  }

  /** The next response (any type), or rejects after timeoutMs. */
  next(timeoutMs = 5000): Promise<Received> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no xDS response within ${timeoutMs} ms${this.error ? ` (stream error: ${this.error.message})` : ''}`));
      }, timeoutMs);
      const waiter = (r: Received): void => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(waiter);
    });
  }

  /** The next response of a given type (others are collected in `skipped`). */
  async nextOf(kind: ResourceKind, timeoutMs = 5000, skipped: Received[] = []): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.next(Math.max(1, deadline - Date.now()));
      if (r.kind === kind) return r;
      skipped.push(r);
    }
  }

  /** Resolves if no response arrives within ms; rejects with the response otherwise. */
  async expectSilence(ms: number): Promise<void> {
    if (this.queue.length) throw new Error(`unexpected ${this.queue[0]!.kind} response (version ${this.queue[0]!.version})`);
    try {
      const r = await this.next(ms);
      throw new Error(`unexpected ${r.kind} response (version ${r.version}, ${r.resources.length} resources)`);
    } catch (err) {
      if (!(err as Error).message.startsWith('no xDS response')) throw err;
    }
  }

  close(): void {
    this.call.end();
    this.call.cancel();
    if (this.ownClient) this.client.close();
  }
}

// google.protobuf.Struct as protobufjs' fromObject expects it (camelCase oneof fields: the
// well-known-type wrapper does not map snake_case names, so those values would be sent empty).
export { toProtoStruct as toStruct };
