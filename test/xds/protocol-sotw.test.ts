/**
 * The protocol cases (protocol.cases.ts) against the state-of-the-world
 * stream: a proxy names every resource it wants in each request, ACKs with
 * the version it accepts, NACKs with the version it still has.
 */
import assert from 'node:assert/strict';
import { SotwStream } from '../../src/xds/sotw';
import { envoyType, kindOfTypeUrl, TYPE_URL, type ResourceKind } from '../../src/xds/protos';
import { decodeDiscoveryRequest, encodeDiscoveryRequest, type DiscoveryRequest } from '../../src/xds/wire';
import type { KindClient, RequestStep, Response } from '../helpers/fake-proxy';
import { protocolCases } from './protocol.cases';

class SotwClient implements KindClient {
  /** Per type: the names last asked for, and the version last accepted. */
  private readonly names = new Map<ResourceKind, readonly string[]>();
  readonly versions: Map<ResourceKind, string>;

  constructor(resuming?: SotwClient) {
    // A reconnecting proxy presents the versions it has (version_info of its first request per type).
    this.versions = new Map(resuming?.versions);
  }

  request(step: RequestStep): DiscoveryRequest {
    const names = step.names ?? this.names.get(step.kind) ?? [];
    this.names.set(step.kind, names);
    const req: Record<string, unknown> = {
      type_url: TYPE_URL[step.kind],
      resource_names: names,
      // An ACK carries the version it accepts (accepted() ran first); a NACK the one the proxy keeps.
      version_info: this.versions.get(step.kind) ?? '',
      response_nonce: step.answering?.nonce ?? '',
    };
    if (step.node !== undefined) req.node = { ...(step.node ? { id: step.node.id } : {}), cluster: 'test', user_agent_name: 'envoy' };
    if (step.error) req.error_detail = { code: 3, message: step.error };
    return decodeDiscoveryRequest(encodeDiscoveryRequest(req));
  }

  accepted(r: Response): void {
    this.versions.set(r.kind, r.version);
  }
}

interface DecodedResponse {
  version_info: string;
  resources: Array<{ type_url: string; value: Uint8Array }>;
  type_url: string;
  nonce: string;
  control_plane: { identifier: string } | null;
}

function decode(bytes: Buffer): Response {
  const t = envoyType('envoy.service.discovery.v3.DiscoveryResponse');
  const m = t.toObject(t.decode(bytes), { defaults: true, arrays: true }) as DecodedResponse;
  const kind = kindOfTypeUrl(m.type_url);
  assert.ok(kind, `a type we serve: ${m.type_url}`);
  for (const a of m.resources) assert.equal(a.type_url, m.type_url, 'every resource is of the response type');
  assert.equal(m.control_plane?.identifier, 'edge-xds');
  return { kind, version: m.version_info, nonce: m.nonce, resources: m.resources.map((a) => Buffer.from(a.value).toString()), removed: [] };
}

protocolCases({
  protocol: 'sotw',
  createStream: (call, source, callbacks, service) => new SotwStream(call.asServerCall<DiscoveryRequest>(), source, callbacks, service),
  createClient: (resuming) => new SotwClient(resuming as SotwClient | undefined),
  decode,
});
