import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionError, defaultServerOptions, parseByteSize, parseDuration, resolveServerOptions } from '../../src/config';

test('parseDuration accepts ms, s, m, h and bare milliseconds', () => {
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1m'), 60_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('250'), 250);
  assert.equal(parseDuration('30d'), 30 * 86_400_000);
  for (const bad of ['', 'ten', '10 parsecs', '-1s', '1w']) assert.throws(() => parseDuration(bad), /duration/);
});

test('parseByteSize and --xds-send-budget: KiB/MiB/GiB or bytes, 64MiB by default, clear errors', () => {
  assert.equal(parseByteSize('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseByteSize('512 KiB'), 512 * 1024);
  assert.equal(parseByteSize('1gib'), 1024 ** 3);
  assert.equal(parseByteSize('0'), 0);
  assert.equal(parseByteSize('1.5MiB'), 1.5 * 1024 * 1024);
  for (const bad of ['', 'lots', '-1', '10MB', '1e9']) assert.throws(() => parseByteSize(bad), /expected a size/);
  assert.equal(resolveServerOptions({}, {}).xdsSendBudget, 64 * 1024 * 1024);
  assert.equal(resolveServerOptions({}, { EDGE_XDS_SEND_BUDGET: '256MiB' }).xdsSendBudget, 256 * 1024 * 1024);
  assert.throws(
    () => resolveServerOptions({ xdsSendBudget: 'big' }, {}),
    (e: Error) => e instanceof OptionError && /--xds-send-budget: expected a size/.test(e.message),
  );
});

test('defaults match issue 2', () => {
  const o = resolveServerOptions({}, {});
  // Only the registry's options: later issues add their own (checked by their tests).
  const mine = {
    httpPort: o.httpPort,
    xdsPort: o.xdsPort,
    host: o.host,
    db: o.db,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    drainGraceMs: o.drainGraceMs,
    logLevel: o.logLevel,
    readyFile: o.readyFile,
    apiToken: o.apiToken,
    ewmaAlpha: o.ewmaAlpha,
    heartbeatBatchDelayMs: o.heartbeatBatchDelayMs,
    heartbeatBatchMax: o.heartbeatBatchMax,
    dbSync: o.dbSync,
  };
  assert.deepEqual(mine, {
    httpPort: 8080,
    xdsPort: 18000,
    host: '0.0.0.0',
    db: './data/edge-xds.db',
    heartbeatIntervalMs: 10_000,
    drainGraceMs: 30_000,
    logLevel: 'info',
    readyFile: null,
    apiToken: null,
    ewmaAlpha: 0.3,
    heartbeatBatchDelayMs: 5,
    heartbeatBatchMax: 1000,
    dbSync: 'full',
  });
  assert.deepEqual(defaultServerOptions({ httpPort: 0 }).httpPort, 0);
});

test('flags win over EDGE_XDS_* variables, which win over defaults', () => {
  const env = { EDGE_XDS_HTTP_PORT: '9090', EDGE_XDS_HEARTBEAT_INTERVAL: '500ms', EDGE_XDS_API_TOKEN: 't', EDGE_XDS_DRAIN_GRACE: '1m', EDGE_XDS_INSECURE: 'true' };
  const o = resolveServerOptions({ httpPort: '7070' }, env);
  assert.equal(o.httpPort, 7070);
  assert.equal(o.heartbeatIntervalMs, 500);
  assert.equal(o.apiToken, 't');
  assert.equal(o.drainGraceMs, 60_000);
});

test('secure by default; --insecure stays on loopback unless --insecure-bind-any; --api-token only with --insecure', () => {
  const d = resolveServerOptions({}, {});
  assert.equal(d.insecure, false);
  assert.equal(d.host, '0.0.0.0');
  assert.equal(d.trustDomain, 'edge-xds.local');
  assert.equal(d.certTtlMs, 24 * 3600_000);
  assert.equal(d.xdsPlaintextPort, null);
  assert.equal(d.xdsPlaintextHost, '127.0.0.1');
  // Open mode without --host binds loopback, not the secure default 0.0.0.0.
  assert.equal(resolveServerOptions({ insecure: 'true' }, {}).host, '127.0.0.1');
  assert.throws(() => resolveServerOptions({ insecure: 'true', host: '0.0.0.0' }, {}), /--insecure listens on loopback only: --host 0\.0\.0\.0/);
  assert.throws(() => resolveServerOptions({ insecure: 'true', xdsPlaintextHost: '10.0.0.1', xdsPlaintextPort: '0' }, {}), /--host 10\.0\.0\.1 is not a loopback/);
  assert.equal(resolveServerOptions({ insecure: 'true', insecureBindAny: 'true', host: '0.0.0.0' }, {}).host, '0.0.0.0');
  assert.throws(() => resolveServerOptions({ insecureBindAny: 'true' }, {}), /--insecure-bind-any only applies with --insecure/);
  assert.throws(() => resolveServerOptions({ apiToken: 't' }, {}), /--api-token is for --insecure mode/);
  assert.throws(() => resolveServerOptions({ caCert: 'ca.pem' }, {}), /--ca-cert and --ca-key go together/);
  assert.throws(() => resolveServerOptions({ trustDomain: 'Not A Domain' }, {}), /--trust-domain: "Not A Domain" is not a trust domain/);
  assert.throws(() => resolveServerOptions({ tlsSans: 'ok.example,bad name' }, {}), /--tls-san: "bad name" is neither/);
  assert.deepEqual(resolveServerOptions({ tlsSans: 'cp.example.org,10.1.2.3' }, {}).tlsSans, ['cp.example.org', '10.1.2.3']);
  assert.equal(resolveServerOptions({}, { EDGE_XDS_INSECURE: '1' }).insecure, true);
});

test('bad values are reported with the flag or variable that carried them', () => {
  assert.throws(
    () => resolveServerOptions({ httpPort: '70000', logLevel: 'loud' }, { EDGE_XDS_EWMA_ALPHA: '0' }),
    (err: unknown) => {
      assert.ok(err instanceof OptionError);
      assert.match(err.message, /--http-port: expected a port number 0\.\.65535, got "70000"/);
      assert.match(err.message, /--log-level: expected one of/);
      assert.match(err.message, /EDGE_XDS_EWMA_ALPHA: expected a number in \(0, 1\]/);
      return true;
    },
  );
  assert.throws(() => resolveServerOptions({ heartbeatIntervalMs: '0s' }, {}), /--heartbeat-interval: must be greater than 0/);
});
