/**
 * The protocol cases (protocol.cases.ts) against the incremental (delta)
 * stream: a proxy sends subscription changes, ACKs and NACKs by nonce, and
 * presents what it has (initial_resource_versions) when it reconnects.
 */
import assert from 'node:assert/strict';
import { DeltaStream } from '../../src/xds/delta';
import { envoyType, kindOfTypeUrl, TYPE_URL, type ResourceKind } from '../../src/xds/protos';
import { contentHash } from '../../src/xds/encoded-resource';
import { decodeDeltaDiscoveryRequest, encodeDeltaDiscoveryRequest, type DeltaDiscoveryRequest } from '../../src/xds/wire';
import type { KindClient, RequestStep, Response } from '../helpers/fake-proxy';
import { protocolCases } from './protocol.cases';

const isWildcardCapable = (kind: ResourceKind): boolean => kind === 'listener' || kind === 'cluster';
const nameOf = (body: string): string => body.slice(0, body.indexOf(':'));

class DeltaClient implements KindClient {
  /** Per type: the subscription as sent ('*': wildcard). */
  private readonly subscriptions = new Map<ResourceKind, ReadonlySet<string>>();
  /** Per type: what the proxy has, name -> version. */
  readonly holds = new Map<ResourceKind, Map<string, string>>();
  /** What a reconnecting proxy presents on its first request per type. */
  private readonly resumed: ReadonlyMap<ResourceKind, ReadonlyMap<string, string>>;

  constructor(resuming?: DeltaClient) {
    this.resumed = new Map([...(resuming?.holds ?? [])].map(([k, m]) => [k, new Map(m)]));
    for (const [k, m] of this.resumed) this.holds.set(k, new Map(m));
  }

  request(step: RequestStep): DeltaDiscoveryRequest {
    const { kind } = step;
    const prev = this.subscriptions.get(kind);
    let subscribe: string[] = [];
    let unsubscribe: string[] = [];
    if (step.names) {
      // No names on LDS/CDS keeps (or, first, starts) the wildcard, as in SotW; delta's first request says so by naming nothing.
      const legacy = step.names.length === 0 && isWildcardCapable(kind) && (prev === undefined || prev.has('*'));
      const want: ReadonlySet<string> = legacy ? new Set(['*']) : new Set(step.names);
      if (prev === undefined) subscribe = legacy ? [] : [...want];
      else {
        subscribe = [...want].filter((n) => !prev.has(n));
        unsubscribe = [...prev].filter((n) => !want.has(n));
      }
      this.subscriptions.set(kind, want);
      // The proxy forgets what it unsubscribes from.
      const has = this.holds.get(kind);
      if (has && !want.has('*')) for (const n of [...has.keys()]) if (!want.has(n)) has.delete(n);
    }
    const req: Record<string, unknown> = {
      type_url: TYPE_URL[kind],
      resource_names_subscribe: subscribe,
      resource_names_unsubscribe: unsubscribe,
      initial_resource_versions: prev === undefined ? Object.fromEntries(this.resumed.get(kind) ?? []) : {},
      response_nonce: step.answering?.nonce ?? '',
    };
    if (step.node !== undefined) req.node = { ...(step.node ? { id: step.node.id } : {}), cluster: 'test', user_agent_name: 'envoy' };
    if (step.error) req.error_detail = { code: 3, message: step.error };
    return decodeDeltaDiscoveryRequest(encodeDeltaDiscoveryRequest(req));
  }

  accepted(r: Response): void {
    let has = this.holds.get(r.kind);
    if (!has) this.holds.set(r.kind, (has = new Map()));
    r.resources.forEach((body, i) => has.set(nameOf(body), r.resourceVersions![i]!));
    for (const name of r.removed) has.delete(name);
  }
}

interface DecodedResponse {
  system_version_info: string;
  resources: Array<{ name: string; version: string; resource: { type_url: string; value: Uint8Array } | null }>;
  type_url: string;
  removed_resources: string[];
  nonce: string;
  control_plane: { identifier: string } | null;
}

function decode(bytes: Buffer): Response {
  const t = envoyType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  const m = t.toObject(t.decode(bytes), { defaults: true, arrays: true }) as DecodedResponse;
  const kind = kindOfTypeUrl(m.type_url);
  assert.ok(kind, `a type we serve: ${m.type_url}`);
  assert.equal(m.control_plane?.identifier, 'edge-xds');
  const resources = m.resources.map((r) => {
    assert.equal(r.resource?.type_url, m.type_url, 'every resource is of the response type');
    const body = Buffer.from(r.resource.value);
    assert.equal(r.name, nameOf(body.toString()), "Resource.name is the resource's name");
    assert.equal(r.version, contentHash(body), 'Resource.version is the content hash');
    return { body: body.toString(), version: r.version };
  });
  return {
    kind,
    version: m.system_version_info,
    nonce: m.nonce,
    resources: resources.map((r) => r.body),
    removed: m.removed_resources,
    resourceVersions: resources.map((r) => r.version),
  };
}

protocolCases({
  protocol: 'delta',
  createStream: (call, source, callbacks, service) => new DeltaStream(call.asServerCall<DeltaDiscoveryRequest>(), source, callbacks, service),
  createClient: (resuming) => new DeltaClient(resuming as DeltaClient | undefined),
  decode,
});
