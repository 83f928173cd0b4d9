/**
 * Secure mode, relay sync (RelaySync on the xDS TLS port): only relay
 * certificates, and the relay id of Hello must be the certificate's. Each
 * refusal asserts the gRPC status and details, that nothing was sent to the
 * client and nothing applied for it (no relay or node registered through
 * it, no stored sequence position `relay_seq:<relay>:<epoch>` created or
 * moved), and how the denial was counted; the positive case shows the same
 * stream gets the registry and has its forwarded writes applied.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { registration, startTestServer, eventually } from '../helpers';
import { relayProto, type GlobalMessage__Output, type RelayMessage } from '../../src/relay/protocol';
import {
  GRPC_TLS_OPTIONS,
  authDeniedEvents,
  denialDelta,
  expiredIdentity,
  grpcTls,
  issueIdentity,
  lastEventSeq,
  otherCa,
  secureFixture,
  type ClientIdentity,
  type SecureFixture,
} from '../helpers/tls-client';

const WAIT_MS = 5000;
const EPOCH = 'e1';

let fx: SecureFixture;
let r1: ClientIdentity;
let r2: ClientIdentity;
let node: ClientIdentity;
const clients: grpc.Client[] = [];

before(async () => {
  fx = secureFixture(await startTestServer({ insecure: false, xdsPlaintextPort: 0 }));
  [r1, r2, node] = await Promise.all([issueIdentity(fx.ca, 'relay', 'r1'), issueIdentity(fx.ca, 'relay', 'r2'), issueIdentity(fx.ca, 'node', 'n1')]);
});
after(async () => {
  for (const c of clients) c.close();
  await fx?.srv.stop();
});

interface Session {
  readonly got: GlobalMessage__Output[];
  end: { code: grpc.status; details: string } | null;
  write(m: RelayMessage): void;
  /** The first message of this kind (waits for it, bounded). */
  message(kind: NonNullable<GlobalMessage__Output['msg']>): Promise<GlobalMessage__Output>;
  endWithin(ms: number): Promise<{ code: grpc.status; details: string }>;
  close(): void;
}

/** One RelaySync stream on the TLS port with these credentials, or on the plaintext listener. */
function sync(creds: grpc.ChannelCredentials | 'plaintext'): Session {
  const Ctor = relayProto().edgexds.relay.v1.RelaySync;
  const client =
    creds === 'plaintext' ? new Ctor(`127.0.0.1:${fx.srv.xdsPlaintextPort}`, grpc.credentials.createInsecure()) : new Ctor(`127.0.0.1:${fx.srv.xdsPort}`, creds, GRPC_TLS_OPTIONS);
  clients.push(client);
  const call = client.Sync() as grpc.ClientDuplexStream<RelayMessage, GlobalMessage__Output>;
  let resolveEnded!: (e: { code: grpc.status; details: string }) => void;
  const ended = new Promise<{ code: grpc.status; details: string }>((r) => (resolveEnded = r));
  const s: Session = {
    got: [],
    end: null,
    write: (m) => void call.write(m),
    message: (kind) =>
      eventually(() => {
        const m = s.got.find((x) => x.msg === kind);
        if (!m)
          throw new Error(`no ${kind} message yet (got ${s.got.map((x) => x.msg).join(', ') || 'nothing'}${s.end ? `; ended ${grpc.status[s.end.code]}: ${s.end.details}` : ''})`);
        return m;
      }, WAIT_MS),
    endWithin: (ms) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        ended.finally(() => clearTimeout(timer)),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`relay sync stream still open after ${ms} ms`)), ms))),
      ]);
    },
    close: () => call.cancel(),
  };
  call.on('data', (m: GlobalMessage__Output) => s.got.push(m));
  call.on('error', () => undefined);
  call.on('status', (st: grpc.StatusObject) => {
    s.end = { code: st.code, details: st.details };
    resolveEnded(s.end);
  });
  return s;
}

const hello = (relayId: string, epoch = EPOCH): RelayMessage => ({
  hello: { registration_json: JSON.stringify(registration({ id: relayId, role: 'relay', services: [], address: '10.9.0.1' })), epoch, high_water: 0 },
});
const forwardRegister = (seq: number, id: string): RelayMessage => ({ forward: { seq, register_json: JSON.stringify(registration({ id, address: '6.6.6.6' })) } });

/** The relay sync positions stored by the global tier (kv keys relay_seq:*), read from its database. */
function positions(): Record<string, number> {
  const db = new Database(fx.srv.dbPath, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT key, value FROM kv WHERE key LIKE 'relay_seq:%' ORDER BY key").all() as Array<{ key: string; value: string }>;
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as number]));
  } finally {
    db.close();
  }
}

/** Registry ids (what a refused stream could have added). */
const nodeIds = (): string[] => [...fx.srv.registry.nodes().keys()].sort();

/** Refused with this status, nothing sent to the client, nothing applied. */
async function refused(s: Session, code: grpc.status, details: RegExp): Promise<void> {
  const end = await s.endWithin(WAIT_MS);
  assert.equal(end.code, code, `status ${grpc.status[end.code]}: ${end.details}`);
  assert.match(end.details, details);
  assert.deepEqual(
    s.got.map((m) => m.msg),
    [],
    'nothing was sent to the client',
  );
}

async function counted(expected: Record<string, number>, fn: () => Promise<void>): Promise<void> {
  assert.deepEqual(await denialDelta(fx, fn), expected, 'edge_xds_auth_denials_total moved by exactly this');
}

/** Runs a refused attempt and checks that neither the registry nor the stored positions changed. */
async function nothingApplied(fn: () => Promise<void>): Promise<void> {
  const ids = nodeIds();
  const pos = positions();
  await fn();
  // Give anything queued behind the hello a moment to (wrongly) land.
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(nodeIds(), ids, 'no node or relay was registered');
  assert.deepEqual(positions(), pos, 'no relay position was created or moved');
}

// ---- positive ------------------------------------------------------------------

test("positive: relay R1's certificate with Hello R1 gets the registry, and its forwarded writes are applied", async () => {
  await counted({}, async () => {
    const s = sync(grpcTls(fx.caPem, r1));
    s.write(hello('r1'));
    const nodes = await s.message('nodes');
    assert.equal(nodes.nodes?.full, true);
    assert.equal((await s.message('forward_ack')).forward_ack?.seq, 0);
    assert.equal(fx.srv.registry.getNode('r1')?.role, 'relay');
    s.write(forwardRegister(1, 'via-r1'));
    await eventually(() => s.got.some((m) => m.msg === 'forward_ack' && Number(m.forward_ack?.seq) === 1), WAIT_MS);
    assert.equal(fx.srv.registry.getNode('via-r1')?.address, '6.6.6.6');
    assert.deepEqual(positions()[`relay_seq:r1:${EPOCH}`], 1);
    s.close();
  });
});

// ---- who may open the stream ---------------------------------------------------

test('a node certificate is refused: PERMISSION_DENIED "only relay identities", nothing applied', async () => {
  await nothingApplied(() =>
    counted({ 'relay-sync/forbidden': 1 }, async () => {
      const s = sync(grpcTls(fx.caPem, node));
      s.write(hello('n1'));
      s.write(forwardRegister(1, 'via-node'));
      await refused(s, grpc.status.PERMISSION_DENIED, /^only relay identities may open the relay sync stream; this client is node n1 \(certificate [0-9a-f]+\)$/);
    }),
  );
});

const noVerifiedCertificate: Array<[string, () => Promise<ClientIdentity | undefined>]> = [
  ['no client certificate', () => Promise.resolve(undefined)],
  ['a relay certificate from another CA', async () => issueIdentity(await otherCa(fx.trustDomain), 'relay', 'r1')],
  ['an expired relay certificate from the server CA', () => expiredIdentity(fx.ca, 'relay', 'r1')],
];

for (const [what, identity] of noVerifiedCertificate) {
  test(`${what}: UNAUTHENTICATED, nothing applied`, async () => {
    const id = await identity();
    await nothingApplied(() =>
      counted({ 'relay-sync/missing-credential': 1 }, async () => {
        const s = sync(grpcTls(fx.caPem, id));
        s.write(hello('r1'));
        s.write(forwardRegister(99, 'via-anonymous'));
        await refused(s, grpc.status.UNAUTHENTICATED, /^relay sync needs a relay certificate issued by this deployment's CA$/);
      }),
    );
  });
}

test('relay sync on the plaintext listener: UNAUTHENTICATED, nothing applied', async () => {
  await nothingApplied(() =>
    counted({ 'relay-sync/missing-credential': 1 }, async () => {
      const s = sync('plaintext');
      s.write(hello('r1'));
      s.write(forwardRegister(99, 'via-plaintext'));
      await refused(s, grpc.status.UNAUTHENTICATED, /^relay sync is served on the TLS port only$/);
    }),
  );
});

// ---- the relay id of Hello -------------------------------------------------------

test("relay R1's certificate with Hello naming R2: PERMISSION_DENIED naming both, nothing applied for R2", async () => {
  const since = await lastEventSeq(fx);
  await nothingApplied(() =>
    counted({ 'relay-sync/wrong-identity': 1 }, async () => {
      const s = sync(grpcTls(fx.caPem, r1));
      s.write(hello('r2'));
      s.write(forwardRegister(1, 'via-r2'));
      s.write({ forward: { seq: 2, heartbeat: { node_id: 'via-r1', input_json: JSON.stringify({ load: { cpu: 0.99 } }), received_at_ms: Date.now() } } });
      await refused(s, grpc.status.PERMISSION_DENIED, /^hello names relay "r2" but the client certificate is relay "r1"$/);
    }),
  );
  assert.equal(fx.srv.registry.getNode('r2'), undefined);
  assert.deepEqual(
    Object.keys(positions()).filter((k) => k.startsWith('relay_seq:r2')),
    [],
  );
  const [e] = await eventually(async () => {
    const ev = (await authDeniedEvents(fx, since)).filter((x) => x.detail.channel === 'relay-sync');
    assert.equal(ev.length, 1);
    return ev;
  });
  assert.equal(e.nodeId, 'r1', 'the event names the identity that tried');
  assert.equal(e.detail.reason, 'wrong-identity');
  assert.match(String(e.detail.caller), /^relay r1 \(certificate [0-9a-f]+\)$/);
});

test("another relay's certificate cannot forge Forward messages for relay R1: refused at hello, R1's position and writes untouched", async () => {
  assert.equal(positions()[`relay_seq:r1:${EPOCH}`], 1, 'R1 has applied seq 1 (positive case)');
  await nothingApplied(() =>
    counted({ 'relay-sync/wrong-identity': 1 }, async () => {
      const s = sync(grpcTls(fx.caPem, r2));
      s.write(hello('r1'));
      // The attack of #13: a huge seq in R1's epoch would make the global tier skip every later write of R1.
      s.write(forwardRegister(1_000_000_000, 'forged'));
      s.write({ forward: { seq: 1_000_000_001, deregister_id: 'via-r1' } });
      await refused(s, grpc.status.PERMISSION_DENIED, /^hello names relay "r1" but the client certificate is relay "r2"$/);
    }),
  );
  assert.equal(fx.srv.registry.getNode('forged'), undefined);
  assert.ok(fx.srv.registry.getNode('via-r1'), "R1's node is still registered");
  assert.notEqual(fx.srv.registry.getNode('via-r1')?.state, 'draining', "R1's node was not deregistered");
  // R1 itself carries on from its real position.
  const s = sync(grpcTls(fx.caPem, r1));
  s.write(hello('r1'));
  assert.equal(Number((await s.message('forward_ack')).forward_ack?.seq), 1);
  s.write(forwardRegister(2, 'via-r1-2'));
  await eventually(() => s.got.some((m) => m.msg === 'forward_ack' && Number(m.forward_ack?.seq) === 2), WAIT_MS);
  assert.ok(fx.srv.registry.getNode('via-r1-2'), "R1's next write is applied");
  s.close();
});

test("revocation: POST /v1/relays/{id}/revoke ends the relay's sync stream with PERMISSION_DENIED, and a new one is refused", async () => {
  const r3 = await issueIdentity(fx.ca, 'relay', 'r3');
  const s = sync(grpcTls(fx.caPem, r3));
  s.write(hello('r3'));
  await s.message('nodes');
  const rev = await fx.http(`/v1/relays/r3/revoke`, { method: 'POST', token: fx.adminToken });
  assert.equal(rev.status, 200, rev.text);
  assert.deepEqual(await s.endWithin(WAIT_MS), { code: grpc.status.PERMISSION_DENIED, details: 'relay "r3" was revoked' });
  await nothingApplied(() =>
    counted({ 'relay-sync/revoked': 1 }, async () => {
      const again = sync(grpcTls(fx.caPem, r3));
      again.write(hello('r3', 'e2'));
      await refused(again, grpc.status.UNAUTHENTICATED, /^the certificate of relay r3 \(serial [0-9a-f]+\) was revoked$/);
    }),
  );
});
