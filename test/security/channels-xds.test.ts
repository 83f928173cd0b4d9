/**
 * Secure mode, xDS channels: the TLS port (client certificate required, the
 * node.id of the stream must be the certificate's node identity) and the
 * plaintext listener for proxyless gRPC (the node's own API token in
 * node.metadata["edge-xds-credential"]). Each refusal asserts the gRPC status
 * and details the client sees, that no config was sent, and how the denial
 * was counted; positive cases show the same stream gets its config with the
 * right credential.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { registration, startTestServer } from '../helpers';
import { ADS_DELTA, ADS_SOTW, openRaw, responseHead, toProtoStruct, type RawStream } from '../helpers/raw-xds';
import { TYPE_URL } from '../../src/xds/protos';
import { encodeDeltaDiscoveryRequest, encodeDiscoveryRequest } from '../../src/xds/wire';
import {
  GRPC_TLS_OPTIONS,
  denialDelta,
  enroll,
  expiredIdentity,
  grpcTls,
  issueIdentity,
  lastEventSeq,
  authDeniedEvents,
  otherCa,
  secureFixture,
  type ClientIdentity,
  type SecureFixture,
} from '../helpers/tls-client';
import { eventually } from '../helpers';

const A = 'node-a';
const B = 'node-b';
const CDS_STREAM = '/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters';
const WAIT_MS = 5000;

let fx: SecureFixture;
let nodeA: ClientIdentity & { token: string | null };
let nodeB: ClientIdentity & { token: string | null };
let relay: ClientIdentity;
const clients: grpc.Client[] = [];

before(async () => {
  fx = secureFixture(await startTestServer({ insecure: false, xdsPlaintextPort: 0 }));
  for (const id of [A, B, 'node-r']) {
    const r = await fx.http('/v1/nodes', { token: fx.adminToken, body: registration({ id }) });
    assert.equal(r.status, 201, r.text);
  }
  nodeA = await enroll(fx.srv, 'node', A);
  nodeB = await enroll(fx.srv, 'node', B);
  relay = await issueIdentity(fx.ca, 'relay', 'r1');
});
after(async () => {
  for (const c of clients) c.close();
  await fx?.srv.stop();
});

interface Open {
  /** The xDS TLS port with these credentials, or the plaintext listener. */
  creds: grpc.ChannelCredentials | 'plaintext';
  nodeId: string;
  /** node.metadata["edge-xds-credential"] */
  credential?: string;
  path?: string;
}

/** Opens one raw stream and sends the first CDS request (SotW, or delta on ADS_DELTA). */
function open(o: Open): RawStream {
  const plaintext = o.creds === 'plaintext';
  const client = plaintext
    ? new grpc.Client(`127.0.0.1:${fx.srv.xdsPlaintextPort}`, grpc.credentials.createInsecure())
    : new grpc.Client(`127.0.0.1:${fx.srv.xdsPort}`, o.creds as grpc.ChannelCredentials, GRPC_TLS_OPTIONS);
  clients.push(client);
  const path = o.path ?? ADS_SOTW;
  const s = openRaw(client, path);
  const node = {
    id: o.nodeId,
    cluster: 'test',
    user_agent_name: 'envoy',
    metadata: o.credential !== undefined ? toProtoStruct({ 'edge-xds-credential': o.credential }) : undefined,
  };
  s.send(
    path === ADS_DELTA
      ? encodeDeltaDiscoveryRequest({ node, type_url: TYPE_URL.cluster, resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {} })
      : encodeDiscoveryRequest({ node, type_url: TYPE_URL.cluster, resource_names: [] }),
  );
  return s;
}

/** The stream was ended with `code` and details matching `details`, and no config was sent on it. */
async function refused(s: RawStream, code: grpc.status, details: RegExp): Promise<void> {
  const end = await s.endWithin(WAIT_MS);
  assert.equal(end.code, code, `status ${grpc.status[end.code]}: ${end.details}`);
  assert.match(end.details, details);
  assert.equal(s.responses.length, 0, 'no config was sent');
}

/** The stream got its clusters (and stays open). */
async function served(s: RawStream, delta = false): Promise<void> {
  assert.equal(await s.settle(WAIT_MS), 'response', s.end ? `ended: ${grpc.status[s.end.code]} ${s.end.details}` : 'no response');
  const h = responseHead(s.responses[0], delta);
  assert.equal(h.typeUrl, TYPE_URL.cluster);
  assert.ok(h.resources >= 1, 'the node gets its clusters');
  assert.equal(s.end, null);
  s.close();
}

async function counted(expected: Record<string, number>, fn: () => Promise<void>): Promise<void> {
  assert.deepEqual(await denialDelta(fx, fn), expected, 'edge_xds_auth_denials_total moved by exactly this');
}

const wrongNode = (asked: string, who: string): RegExp =>
  new RegExp(`^node\\.id "${asked}" is not the identity of this client \\(${who}\\): a node may only ask for its own config$`);

// ---- TLS port -----------------------------------------------------------------

test("TLS port, positive: node A's certificate gets node A's config (SotW and delta ADS, and the per-type service)", async () => {
  await counted({}, async () => {
    await served(open({ creds: grpcTls(fx.caPem, nodeA), nodeId: A }));
    await served(open({ creds: grpcTls(fx.caPem, nodeA), nodeId: A, path: ADS_DELTA }), true);
    await served(open({ creds: grpcTls(fx.caPem, nodeA), nodeId: A, path: CDS_STREAM }));
  });
});

test("TLS port: node A's certificate asking for node B's config ends PERMISSION_DENIED naming both ids (SotW, delta, per-type)", async () => {
  const since = await lastEventSeq(fx);
  const who = 'node "node-a"';
  await counted({ 'xds/wrong-identity': 3 }, async () => {
    await refused(open({ creds: grpcTls(fx.caPem, nodeA), nodeId: B }), grpc.status.PERMISSION_DENIED, wrongNode(B, who));
    await refused(open({ creds: grpcTls(fx.caPem, nodeA), nodeId: B, path: ADS_DELTA }), grpc.status.PERMISSION_DENIED, wrongNode(B, who));
    await refused(open({ creds: grpcTls(fx.caPem, nodeA), nodeId: B, path: CDS_STREAM }), grpc.status.PERMISSION_DENIED, wrongNode(B, who));
  });
  const events = await eventually(async () => {
    const e = (await authDeniedEvents(fx, since)).filter((x) => x.detail.channel === 'xds');
    assert.equal(e.length, 3);
    return e;
  });
  for (const e of events) {
    assert.equal(e.nodeId, A, 'the event names the identity that tried');
    assert.equal(e.detail.reason, 'wrong-identity');
    assert.match(String(e.detail.caller), /^node node-a \(certificate [0-9a-f]+\)$/);
    assert.match(String(e.detail.message), /node\.id "node-b"/);
  }
});

test('TLS port: a relay certificate may not stream ADS, neither for a node nor under its own id (PERMISSION_DENIED)', async () => {
  await counted({ 'xds/wrong-identity': 2 }, async () => {
    await refused(open({ creds: grpcTls(fx.caPem, relay), nodeId: A }), grpc.status.PERMISSION_DENIED, wrongNode(A, 'relay "r1"'));
    await refused(open({ creds: grpcTls(fx.caPem, relay), nodeId: 'r1' }), grpc.status.PERMISSION_DENIED, wrongNode('r1', 'relay "r1"'));
  });
});

/**
 * Without a verified certificate the handshake still completes (the server
 * asks for one and decides itself, so the refusal gets a status and is
 * counted): UNAUTHENTICATED on the "xds" channel, no config. grpc-js reports
 * such a peer like a plaintext one; RenewableServerCredentials marks calls on
 * this port as TLS so they are not judged by the plaintext listener's rule.
 */
const NO_CERTIFICATE = /^this xDS port needs a client certificate issued by this deployment's CA \(none was sent, or it is expired or from another CA\)$/;
const noVerifiedCertificate: Array<[string, () => Promise<ClientIdentity | undefined>]> = [
  ['no client certificate', () => Promise.resolve(undefined)],
  ['a certificate from another CA', async () => issueIdentity(await otherCa(fx.trustDomain), 'node', A)],
  ['an expired certificate from the server CA', () => expiredIdentity(fx.ca, 'node', A)],
];

for (const [what, identity] of noVerifiedCertificate) {
  test(`TLS port: ${what} gets UNAUTHENTICATED and no config`, async () => {
    const id = await identity();
    await counted({ 'xds/missing-credential': 2 }, async () => {
      await refused(open({ creds: grpcTls(fx.caPem, id), nodeId: A }), grpc.status.UNAUTHENTICATED, NO_CERTIFICATE);
      await refused(open({ creds: grpcTls(fx.caPem, id), nodeId: A, path: ADS_DELTA }), grpc.status.UNAUTHENTICATED, NO_CERTIFICATE);
    });
  });
}

test("TLS port: node A's own token in node.metadata does not replace the client certificate (UNAUTHENTICATED)", async () => {
  await counted({ 'xds/missing-credential': 2 }, async () => {
    await refused(open({ creds: grpcTls(fx.caPem), nodeId: A, credential: nodeA.token! }), grpc.status.UNAUTHENTICATED, NO_CERTIFICATE);
    const expired = await expiredIdentity(fx.ca, 'node', A);
    await refused(open({ creds: grpcTls(fx.caPem, expired), nodeId: A, credential: nodeA.token! }), grpc.status.UNAUTHENTICATED, NO_CERTIFICATE);
  });
});

test("revocation: POST /v1/nodes/{id}/revoke ends the node's open stream with PERMISSION_DENIED, and a new one is refused", async () => {
  const R = 'node-r';
  const r = await enroll(fx.srv, 'node', R);
  const s = open({ creds: grpcTls(fx.caPem, r), nodeId: R });
  assert.equal(await s.settle(WAIT_MS), 'response', 'served before the revocation');
  const rev = await fx.http<{ closedStreams: number }>(`/v1/nodes/${R}/revoke`, { method: 'POST', token: fx.adminToken });
  assert.equal(rev.status, 200, rev.text);
  assert.equal(rev.json.closedStreams, 1, 'the answer counts the stream it closed');
  const end = await s.endWithin(WAIT_MS);
  assert.deepEqual(end, { code: grpc.status.PERMISSION_DENIED, details: `node "${R}" was revoked` });
  await counted({ 'xds/revoked': 1 }, async () => {
    await refused(open({ creds: grpcTls(fx.caPem, r), nodeId: R }), grpc.status.UNAUTHENTICATED, new RegExp(`^the certificate of node ${R} \\(serial [0-9a-f]+\\) was revoked$`));
  });
});

// ---- plaintext listener ------------------------------------------------------

test('plaintext listener: a stream without a node credential gets UNAUTHENTICATED and no config', async () => {
  await counted({ 'xds-plaintext/missing-credential': 2 }, async () => {
    const msg = /^the plaintext xDS listener needs the node's own credential in node\.metadata\["edge-xds-credential"\]$/;
    await refused(open({ creds: 'plaintext', nodeId: A }), grpc.status.UNAUTHENTICATED, msg);
    await refused(open({ creds: 'plaintext', nodeId: A, path: ADS_DELTA }), grpc.status.UNAUTHENTICATED, msg);
  });
});

test("plaintext listener, positive: node A's own token gets node A's config", async () => {
  await counted({}, async () => {
    await served(open({ creds: 'plaintext', nodeId: A, credential: nodeA.token! }));
    await served(open({ creds: 'plaintext', nodeId: A, credential: nodeA.token!, path: ADS_DELTA }), true);
  });
});

test("plaintext listener: another node's token gets PERMISSION_DENIED naming both ids", async () => {
  await counted({ 'xds-plaintext/wrong-identity': 1 }, async () => {
    await refused(open({ creds: 'plaintext', nodeId: A, credential: nodeB.token! }), grpc.status.PERMISSION_DENIED, wrongNode(A, 'node "node-b"'));
  });
});

test('plaintext listener: an admin or read token gets PERMISSION_DENIED (xDS is for nodes)', async () => {
  const read = await fx.http<{ token: string }>('/v1/tokens', { token: fx.adminToken, body: { kind: 'read' } });
  await counted({ 'xds-plaintext/wrong-identity': 2 }, async () => {
    await refused(open({ creds: 'plaintext', nodeId: A, credential: fx.adminToken }), grpc.status.PERMISSION_DENIED, wrongNode(A, 'an admin token'));
    await refused(open({ creds: 'plaintext', nodeId: A, credential: read.json.token }), grpc.status.PERMISSION_DENIED, wrongNode(A, 'a read token'));
  });
});

test("plaintext listener: a revoked node's token gets UNAUTHENTICATED", async () => {
  const v = await enroll(fx.srv, 'node', 'node-v');
  assert.equal((await fx.http('/v1/nodes', { token: fx.adminToken, body: registration({ id: 'node-v' }) })).status, 201);
  await served(open({ creds: 'plaintext', nodeId: 'node-v', credential: v.token! }));
  assert.equal((await fx.http('/v1/nodes/node-v/revoke', { method: 'POST', token: fx.adminToken })).status, 200);
  await counted({ 'xds-plaintext/unknown-credential': 1 }, async () => {
    await refused(open({ creds: 'plaintext', nodeId: 'node-v', credential: v.token! }), grpc.status.UNAUTHENTICATED, /^token [0-9a-f]{16} is unknown or revoked$/);
  });
});
