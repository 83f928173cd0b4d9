/**
 * `edge-xds bootstrap` by spawning the built CLI: online against a real
 * server process (Envoy YAML and gRPC JSON, 404, unreachable), offline
 * (strictly valid Envoy bootstraps, the exact commands of
 * examples/multi-region), usage errors (exit 2), and the demo pass-through
 * subcommands.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CLI_PATH, startCliServer, type CliServer } from '../helpers/cli-server';
import { registration } from '../helpers/fixtures';
import { request } from '../helpers/http';
import { makeTempDir, removeDir } from '../helpers/tmp';
import { checkBootstrapYaml } from '../helpers/envoy-validate';
import { renderEnvoyBootstrap } from '../../src/bootstrap';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.EDGE_XDS_SERVER;
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`edge-xds ${args.join(' ')}: no exit within ${timeoutMs} ms\n${stdout}${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const dir = makeTempDir('edge-xds-bootstrap-cli-');
let server: CliServer;

before(async () => {
  server = await startCliServer({ args: ['--advertise-address', '127.0.0.1'] });
  const r = await request(server.baseUrl, '/v1/nodes', { body: registration({ id: 'edge-sh-01', address: '127.0.0.5' }) });
  assert.ok(r.status === 201 || r.status === 200, r.text);
});

after(async () => {
  await server?.stop();
  removeDir(dir);
});

describe('online: GET /v1/bootstrap/{id} of a running server', () => {
  test('Envoy YAML (delta by default, sotw on request) passes the strict check', async () => {
    for (const mode of ['delta', 'sotw'] as const) {
      const r = await cli(['bootstrap', '--node-id', 'edge-sh-01', '--server', server.baseUrl, '--mode', mode]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(checkBootstrapYaml(r.stdout), [], r.stdout);
      const doc = parse(r.stdout) as { node: { id: string; locality: { region: string } }; dynamic_resources: { ads_config: { api_type: string } } };
      assert.equal(doc.node.id, 'edge-sh-01');
      assert.equal(doc.node.locality.region, 'cn-east');
      assert.equal(doc.dynamic_resources.ads_config.api_type, mode === 'delta' ? 'DELTA_GRPC' : 'GRPC');
      assert.ok(r.stdout.includes(`port_value: ${server.xdsPort}`), 'the global tier is an xDS server');
    }
  });

  test('gRPC JSON to --out', async () => {
    const out = path.join(dir, 'nested', 'grpc.json');
    const r = await cli(['bootstrap', '--node-id', 'edge-sh-01', '--server', server.baseUrl, '--format', 'grpc', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const b = JSON.parse(fs.readFileSync(out, 'utf8')) as { xds_servers: Array<{ server_uri: string }>; node: { id: string } };
    assert.equal(b.node.id, 'edge-sh-01');
    assert.ok(b.xds_servers[0]!.server_uri.endsWith(`127.0.0.1:${server.xdsPort}`), b.xds_servers[0]!.server_uri);
  });

  test('unknown node: exit 1 naming the node', async () => {
    const r = await cli(['bootstrap', '--node-id', 'nobody', '--server', server.baseUrl]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown node "nobody"/);
    assert.equal(r.stdout, '');
  });

  test('server unreachable: exit 1 with the address', async () => {
    const r = await cli(['bootstrap', '--node-id', 'edge-sh-01', '--server', 'http://127.0.0.1:9', '--timeout', '3000']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the edge-xds server at http:\/\/127\.0\.0\.1:9 .*is it running/);
  });
});

describe('offline: rendered locally', () => {
  test('sidecar and gateway, delta and sotw, pass the strict check and equal renderEnvoyBootstrap', async () => {
    for (const role of ['sidecar', 'gateway'] as const) {
      for (const mode of ['delta', 'sotw'] as const) {
        const args = [
          'bootstrap',
          '--node-id',
          `n-${role}`,
          '--region',
          'cn-east',
          '--zone',
          'cn-east-sh',
          '--sub-zone',
          'rack-1',
          '--xds-server',
          '10.0.0.2:18000',
          '--xds-server',
          'relay-2.cn-east.lan:18000',
          '--xds-server',
          '[fd00::1]:18000',
          '--role',
          role,
          '--mode',
          mode,
        ];
        const r = await cli(args);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(checkBootstrapYaml(r.stdout), [], `${role}/${mode}`);
        const expected = renderEnvoyBootstrap({
          nodeId: `n-${role}`,
          locality: { region: 'cn-east', zone: 'cn-east-sh', subZone: 'rack-1' },
          role,
          mode,
          xdsServers: [
            { host: '10.0.0.2', port: 18000 },
            { host: 'relay-2.cn-east.lan', port: 18000 },
            { host: 'fd00::1', port: 18000 },
          ],
        });
        assert.equal(r.stdout, expected);
      }
    }
  });

  test('every `edge-xds bootstrap` command of examples/multi-region/docker-compose.yml works and is strictly valid', async () => {
    const compose = parse(fs.readFileSync(path.resolve(__dirname, '../../../examples/multi-region/docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { image?: string; entrypoint?: string[]; command?: string[] }>;
    };
    const cmds = Object.entries(compose.services).filter(([, s]) => s.image === 'edge-xds:dev' && !s.entrypoint && s.command?.[0] === 'bootstrap');
    assert.ok(cmds.length >= 6, `bootstrap services: ${cmds.length}`);
    for (const [name, s] of cmds) {
      const args = [...(s.command ?? [])];
      const i = args.indexOf('--out');
      const target = path.join(dir, 'compose', path.basename(args[i + 1]!));
      args[i + 1] = target;
      const r = await cli(args);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      const text = fs.readFileSync(target, 'utf8');
      assert.deepEqual(checkBootstrapYaml(text), [], name);
      assert.equal((parse(text) as { node: { id: string } }).node.id, args[args.indexOf('--node-id') + 1], name);
    }
  });

  test('gRPC JSON lists the servers in order in one server_uri', async () => {
    const r = await cli(['bootstrap', '--node-id', 'c1', '--region', 'cn-east', '--zone', 'z', '--xds-server', '127.0.0.2:1', '--xds-server', '127.0.0.3:2', '--format', 'grpc']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { xds_servers: Array<{ server_uri: string }> }).xds_servers[0]!.server_uri, 'ipv4:127.0.0.2:1,127.0.0.3:2');
  });
});

describe('usage errors exit 2 and name the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['bootstrap'], /--node-id: required/],
    [['bootstrap', '--node-id', 'a', '--bogus'], /unknown option '--bogus'/],
    [['bootstrap', '--node-id', 'a', '--region', 'r'], /missing --zone, --xds-server/],
    [['bootstrap', '--node-id', 'a', '--region', 'r', '--zone', 'z', '--xds-server', 'nohost'], /--xds-server: expected HOST:PORT/],
    [['bootstrap', '--node-id', 'a', '--region', 'r', '--zone', 'z', '--xds-server', 'h:70000'], /--xds-server: port out of range/],
    [['bootstrap', '--node-id', 'a', '--format', 'xml'], /--format: must be one of envoy, grpc/],
    [['bootstrap', '--node-id', 'a', '--mode', 'fast'], /--mode: must be one of delta, sotw/],
    [['bootstrap', '--node-id', 'a', '--region', 'r', '--zone', 'z', '--xds-server', 'h:1', '--role', 'router'], /--role: must be one of sidecar, gateway/],
    [['bootstrap', '--node-id', 'a', '--role', 'gateway'], /--role: only with the offline form/],
    [['bootstrap', '--node-id', 'a', '--server', 'http://x', '--region', 'r', '--zone', 'z', '--xds-server', 'h:1'], /--server cannot be combined/],
    [['bootstrap', '--node-id', 'a', '--server', 'ftp://x'], /--server: must be http/],
  ];
  for (const [args, re] of cases) {
    test(args.slice(1).join(' ') || '(no flags)', async () => {
      const r = await cli(args);
      assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, '');
    });
  }
});

test('edge-xds demo-backend and edge-xds loadgen pass their arguments through', async () => {
  const b = await cli(['demo-backend', '--help']);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /--registry-url/);
  const l = await cli(['loadgen', '--help']);
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /--report-every/);
  const bad = await cli(['loadgen', '--rate', 'fast']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--rate/);
});
