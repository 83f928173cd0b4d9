import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { migrateLatest, openDatabase, Db } from '../../src/store';
import { parseApiRole, parseToken, RedeemResult, TokenError, tokenId, TokenStore } from '../../src/security';
import { tempDir } from './helpers';

async function withStore(fn: (tokens: TokenStore, db: Db, file: string) => Promise<void>): Promise<void> {
  const tmp = tempDir();
  const file = path.join(tmp.dir, 'edge-xds.db');
  const db = openDatabase({ file });
  try {
    await migrateLatest(db);
    await fn(new TokenStore(db), db, file);
  } finally {
    await db.destroy();
    tmp.cleanup();
  }
}

const execFileAsync = promisify(execFile);

const node = (id: string) => ({ kind: 'node', id }) as const;
const refused = (r: RedeemResult): string => (r.ok ? 'ok' : r.reason);

test('the migration creates the security tables', async () => {
  await withStore(async (_t, db) => {
    for (const table of ['join_tokens', 'api_tokens', 'revoked_identities', 'revoked_certificates']) assert.ok(await db.schema.hasTable(table), table);
  });
});

test('tokens are stored hashed: no secret anywhere in the database files', async () => {
  await withStore(async (tokens, db, file) => {
    const join = await tokens.createJoinToken({ nodeId: 'shop-1' });
    const admin = await tokens.createApiToken({ role: 'admin' });
    const nodeTok = await tokens.createApiToken({ role: 'node', nodeId: 'shop-1' });
    for (const t of [join.token, admin.token, nodeTok.token]) assert.match(t, /^ex[ja]\.[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
    assert.ok((await tokens.redeemJoinToken(join.token, node('shop-1'))).ok);
    assert.ok(await tokens.authenticate(admin.token));
    await db.destroy(); // flush and close: WAL checkpointed into the file
    const bytes = Buffer.concat(['', '-wal', '-shm'].filter((s) => fs.existsSync(file + s)).map((s) => fs.readFileSync(file + s)));
    for (const t of [join.token, admin.token, nodeTok.token]) {
      const secret = t.split('.')[2]!;
      assert.equal(bytes.includes(Buffer.from(secret)), false, 'the secret is not stored');
      assert.equal(bytes.includes(Buffer.from(t.split('.')[1]!)), true, 'sanity: the public id is (we read the right file)');
    }
  });
});

test('a 1-use join token redeemed 5 times at once: exactly one success; a 2-use token redeemed by 4 processes at once: exactly two', async () => {
  await withStore(async (tokens, _db, file) => {
    const t1 = await tokens.createJoinToken({ nodeId: 'shop-1', uses: 1 });
    const results = await Promise.all(Array.from({ length: 5 }, () => tokens.redeemJoinToken(t1.token, node('shop-1'))));
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.deepEqual(results.filter((r) => !r.ok).map(refused), ['used', 'used', 'used', 'used']);

    // the same across processes on one database file
    const t2 = await tokens.createJoinToken({ nodeId: 'shop-2', uses: 2 });
    const worker = path.join(__dirname, 'redeem-worker.js');
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => execFileAsync(process.execPath, [worker, file, t2.token, 'shop-2']).then((o) => JSON.parse(o.stdout) as RedeemResult)),
    );
    assert.equal(runs.filter((r) => r.ok).length, 2);
    assert.deepEqual(runs.filter((r) => !r.ok).map(refused), ['used', 'used']);
    assert.equal((await tokens.listJoinTokens()).find((t) => t.id === t2.id)!.usesLeft, 0);
  });
});

test('redemption refuses with a specific reason and spends nothing when refused', async () => {
  await withStore(async (tokens) => {
    const now = Date.now();
    const t = await tokens.createJoinToken({ nodeId: 'shop-1', uses: 3, ttlMs: 60_000, now });
    const [, id, secret] = t.token.split('.');

    assert.deepEqual(await tokens.redeemJoinToken(t.token, node('shop-2'), now), {
      ok: false,
      reason: 'wrong-id',
      message: `join token ${t.id} enrolls "shop-1", not "shop-2"`,
      tokenId: t.id,
    });
    assert.equal(refused(await tokens.redeemJoinToken(t.token, { kind: 'relay', id: 'shop-1' }, now)), 'wrong-kind');
    assert.equal(refused(await tokens.redeemJoinToken(`exj.${id}.${'A'.repeat(43)}`, node('shop-1'), now)), 'unknown', 'right id, wrong secret');
    assert.equal(refused(await tokens.redeemJoinToken(`exj.${'0'.repeat(16)}.${secret}`, node('shop-1'), now)), 'unknown');
    assert.equal(refused(await tokens.redeemJoinToken('hello', node('shop-1'), now)), 'malformed');
    assert.equal(refused(await tokens.redeemJoinToken(`exa.${id}.${secret}`, node('shop-1'), now)), 'malformed', 'an API token is no join token');
    assert.equal(refused(await tokens.redeemJoinToken(t.token, node('Shop_1'), now)), 'wrong-id');
    assert.equal((await tokens.listJoinTokens())[0]!.usesLeft, 3, 'nothing was spent');

    const ok = await tokens.redeemJoinToken(t.token, node('shop-1'), now + 1000);
    assert.deepEqual(ok, { ok: true, tokenId: t.id, identity: node('shop-1'), usesLeft: 2, revokedAt: null, sans: [] });
    assert.equal(refused(await tokens.redeemJoinToken(t.token, node('shop-1'), now + 60_000)), 'expired');
    assert.equal((await tokens.listJoinTokens())[0]!.usesLeft, 2);

    const r = await tokens.createJoinToken({ kind: 'relay', nodeId: 'eu-1', now });
    assert.equal(await tokens.revokeToken(r.id), true);
    assert.equal(await tokens.revokeToken(r.id), false, 'already revoked');
    assert.equal(refused(await tokens.redeemJoinToken(r.token, { kind: 'relay', id: 'eu-1' }, now)), 'revoked');
  });
});

test('a prefix token enrolls any id under its prefix, for its number of uses', async () => {
  await withStore(async (tokens) => {
    const t = await tokens.createJoinToken({ prefix: 'shop-', uses: 2 });
    assert.equal(t.prefix, 'shop-');
    assert.equal(refused(await tokens.redeemJoinToken(t.token, node('factory-1'))), 'wrong-id');
    assert.equal(refused(await tokens.redeemJoinToken(t.token, node('shop-1'))), 'ok');
    assert.equal(refused(await tokens.redeemJoinToken(t.token, node('shop-2'))), 'ok');
    assert.equal(refused(await tokens.redeemJoinToken(t.token, node('shop-3'))), 'used');
  });
});

test('a relay token carries the names of the relay certificate; node tokens carry none', async () => {
  await withStore(async (tokens) => {
    const t = await tokens.createJoinToken({ kind: 'relay', nodeId: 'relay-1', sans: ['10.1.0.5', 'Relay-1.cn-east.lan'] });
    assert.deepEqual(t.sans, ['10.1.0.5', 'relay-1.cn-east.lan']);
    const r = await tokens.redeemJoinToken(t.token, { kind: 'relay', id: 'relay-1' });
    assert.ok(r.ok);
    assert.deepEqual(r.sans, ['10.1.0.5', 'relay-1.cn-east.lan']);
    await assert.rejects(tokens.createJoinToken({ nodeId: 'n', sans: ['10.0.0.1'] }), /for relay tokens only/);
    await assert.rejects(tokens.createJoinToken({ kind: 'relay', nodeId: 'r', sans: ['not a name'] }), /neither an IP address nor a DNS name/);
    assert.deepEqual((await tokens.listJoinTokens()).find((x) => x.id === t.id)?.sans, ['10.1.0.5', 'relay-1.cn-east.lan']);
  });
});

test('createJoinToken and createApiToken validate their arguments', async () => {
  await withStore(async (tokens) => {
    await assert.rejects(tokens.createJoinToken({}), (e: Error) => e instanceof TokenError && /exactly one of/.test(e.message));
    await assert.rejects(tokens.createJoinToken({ nodeId: 'a', prefix: 'a' }), /exactly one of/);
    await assert.rejects(tokens.createJoinToken({ nodeId: 'A' }), /not a DNS label/);
    await assert.rejects(tokens.createJoinToken({ prefix: '-x' }), /not the start of a DNS label/);
    await assert.rejects(tokens.createJoinToken({ nodeId: 'a', uses: 0 }), /uses 0/);
    await assert.rejects(tokens.createJoinToken({ nodeId: 'a', ttlMs: 10 }), /ttl 10 ms/);
    await assert.rejects(tokens.createJoinToken({ nodeId: 'a', kind: 'admin' as 'node' }), /kind "admin"/);
    await assert.rejects(tokens.createApiToken({ role: 'node' }), /needs the node id/);
    await assert.rejects(tokens.createApiToken({ role: 'read', nodeId: 'a' }), /has no node id/);
    await assert.rejects(tokens.createApiToken({ role: 'root' as 'admin' }), /role "root"/);
  });
});

test('API tokens: admin, read and node:<id>; expiry; revocation; never a join token', async () => {
  await withStore(async (tokens) => {
    const now = Date.now();
    const admin = await tokens.createApiToken({ role: 'admin', description: 'first start' });
    const read = await tokens.createApiToken({ role: 'read', ttlMs: 60_000, now });
    const n1 = await tokens.createApiToken({ role: 'node', nodeId: 'shop-1' });
    assert.deepEqual(await tokens.authenticate(admin.token), { role: 'admin', tokenId: admin.id });
    assert.deepEqual(await tokens.authenticate(read.token, now + 1), { role: 'read', tokenId: read.id });
    assert.deepEqual(await tokens.authenticate(n1.token), { role: 'node', nodeId: 'shop-1', tokenId: n1.id });

    assert.equal(await tokens.authenticate(read.token, now + 60_000), null);
    assert.deepEqual(await tokens.check(read.token, now + 60_000), { ok: false, reason: 'expired', tokenId: read.id });
    assert.deepEqual(await tokens.check(admin.token.slice(0, -1) + (admin.token.endsWith('A') ? 'B' : 'A')), { ok: false, reason: 'unknown', tokenId: admin.id });
    assert.deepEqual(await tokens.check(''), { ok: false, reason: 'malformed' });
    assert.deepEqual(await tokens.check(`Bearer ${admin.token}`), { ok: false, reason: 'malformed' });
    const join = await tokens.createJoinToken({ nodeId: 'shop-1' });
    assert.equal(await tokens.authenticate(join.token), null, 'a join token is no API credential');

    assert.equal(await tokens.revokeToken(admin.id), true);
    assert.deepEqual(await tokens.check(admin.token), { ok: false, reason: 'revoked', tokenId: admin.id });
    const listed = await tokens.listApiTokens();
    assert.equal(listed.length, 3);
    assert.ok(
      listed.every((t) => !('token' in t) && !('secret_hash' in t)),
      'listings hold no secret and no hash',
    );

    assert.deepEqual(parseApiRole('node:shop-1'), { role: 'node', nodeId: 'shop-1' });
    assert.deepEqual(parseApiRole('read'), { role: 'read' });
    assert.throws(() => parseApiRole('node:'), /admin, read or node:<id>/);
    assert.equal(tokenId(admin.token), admin.id);
    assert.equal(parseToken('exa.zz.x'), null);
  });
});

test('revokeNode: its tokens stop working, certificates from before are refused, older tokens cannot re-enroll it', async () => {
  await withStore(async (tokens) => {
    const t0 = Date.now() - 10_000;
    const exact = await tokens.createJoinToken({ nodeId: 'shop-1', uses: 5, now: t0 });
    const prefix = await tokens.createJoinToken({ prefix: 'shop-', uses: 5, now: t0 });
    const other = await tokens.createJoinToken({ nodeId: 'shop-2', now: t0 });
    const api = await tokens.createApiToken({ role: 'node', nodeId: 'shop-1', now: t0 });
    const api2 = await tokens.createApiToken({ role: 'node', nodeId: 'shop-2', now: t0 });

    const revokedAt = t0 + 5000;
    assert.deepEqual(await tokens.revokeNode('shop-1', revokedAt), { revokedAt, joinTokens: 1, apiTokens: 1 });
    assert.equal(await tokens.revocationTime(node('shop-1')), revokedAt);
    assert.equal(await tokens.revocationTime({ kind: 'relay', id: 'shop-1' }), null, 'relay ids are another namespace');

    assert.equal(refused(await tokens.redeemJoinToken(exact.token, node('shop-1'))), 'revoked');
    const viaPrefix = await tokens.redeemJoinToken(prefix.token, node('shop-1'));
    assert.equal(refused(viaPrefix), 'revoked');
    assert.match((viaPrefix as { message: string }).message, /node shop-1 was revoked after join token [0-9a-f]+ was created: create a new token/);
    assert.equal(refused(await tokens.redeemJoinToken(prefix.token, node('shop-3'))), 'ok', 'the prefix token still enrolls others');
    assert.equal(refused(await tokens.redeemJoinToken(other.token, node('shop-2'))), 'ok');
    assert.equal(await tokens.authenticate(api.token), null);
    assert.ok(await tokens.authenticate(api2.token));

    assert.equal(await tokens.isRevoked(node('shop-1'), { notBefore: new Date(revokedAt - 1) }), true);
    assert.equal(await tokens.isRevoked(node('shop-1'), { notBefore: revokedAt }), true, 'at the revocation instant: refused');
    assert.equal(await tokens.isRevoked(node('shop-1'), { notBefore: revokedAt + 1000 }), false);
    assert.equal(await tokens.isRevoked(node('shop-2'), { notBefore: 0 }), false);

    // re-admission: a token created after the revocation works, and says when the revocation was
    const again = await tokens.createJoinToken({ nodeId: 'shop-1' });
    assert.deepEqual(await tokens.redeemJoinToken(again.token, node('shop-1')), { ok: true, tokenId: again.id, identity: node('shop-1'), usesLeft: 0, revokedAt, sans: [] });

    await tokens.revokeCertificate('00ABCDEF');
    assert.equal(await tokens.isRevoked(node('shop-9'), { notBefore: Date.now(), serial: 'abcdef' }), true);
    await assert.rejects(tokens.revokeCertificate('xyz'), /not hex/);
  });
});

test('pruneExpired drops long-expired tokens and revoked serials of expired certificates', async () => {
  await withStore(async (tokens) => {
    const long = Date.now() - 30 * 86_400_000;
    await tokens.createJoinToken({ nodeId: 'a', now: long });
    const live = await tokens.createJoinToken({ nodeId: 'b' });
    await tokens.createApiToken({ role: 'read', ttlMs: 1000, now: long });
    await tokens.createApiToken({ role: 'admin', now: long });
    await tokens.revokeCertificate('01', new Date(Date.now() - 1000));
    await tokens.revokeCertificate('02', new Date(Date.now() + 86_400_000));
    await tokens.revokeNode('a');
    assert.deepEqual(await tokens.pruneExpired(), { joinTokens: 1, apiTokens: 1, certificates: 1 });
    assert.deepEqual(
      (await tokens.listJoinTokens()).map((t) => t.id),
      [live.id],
    );
    assert.equal((await tokens.listApiTokens()).length, 1, 'tokens without expiry stay');
    assert.equal(await tokens.isRevoked(node('x'), { notBefore: 0, serial: '02' }), true);
    assert.equal((await tokens.revocationTime(node('a'))) !== null, true, 'identity revocations stay');
  });
});
