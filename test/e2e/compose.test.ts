/**
 * examples/multi-region/docker-compose.yml stays in step with the code:
 * `docker-compose config -q` accepts it (skipped without docker-compose), every
 * edge-xds / demo command uses only flags the CLIs know, and ports match the
 * CLI defaults. (The bootstrap commands themselves are run and their output
 * strictly checked in test/e2e/bootstrap.test.ts.)
 */
import { describe, test, TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { parse } from 'yaml';
import { buildBackendCommand } from '../../src/demo/backend-main';
import { buildLoadgenCommand } from '../../src/demo/loadgen-main';

const ROOT = path.resolve(__dirname, '../../..');
const EXAMPLE = path.join(ROOT, 'examples/multi-region');
const COMPOSE = path.join(EXAMPLE, 'docker-compose.yml');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');

interface Service {
  image?: string;
  entrypoint?: string[];
  command?: string[];
  network_mode?: string;
  ports?: string[];
  networks?: Record<string, { ipv4_address?: string; aliases?: string[] } | null>;
}
const compose = parse(fs.readFileSync(COMPOSE, 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  networks: Record<string, { ipam: { config: Array<{ subnet: string }> } }>;
};
const services = Object.entries(compose.services);
const edgeXds = services.filter(([, s]) => s.image === 'edge-xds:dev' && s.entrypoint === undefined);
const byEntry = (file: string) => services.filter(([, s]) => s.image === 'edge-xds:dev' && s.entrypoint?.join(' ') === `node ${file}`);

function flagsOf(args: string[]): string[] {
  return [...new Set(args.filter((a) => a.startsWith('--')))];
}
function valueOf(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
}

/** Long flags listed by `edge-xds <sub> --help`, or null when the subcommand does not exist yet. */
function cliFlags(sub: string): { flags: Set<string>; help: string } | null {
  const r = spawnSync(process.execPath, [CLI, ...sub.split(' '), '--help'], { encoding: 'utf8', timeout: 20_000 });
  const help = `${r.stdout}${r.stderr}`;
  if (!help.includes(`Usage: edge-xds ${sub}`)) return null;
  return { flags: new Set([...help.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1])), help };
}

function helpDefault(help: string, flag: string): string | null {
  const i = help.indexOf(flag);
  const m = /\(default: ([^)]+)\)/.exec(help.slice(i, i + 400));
  return i < 0 || !m ? null : m[1];
}

async function checkFlags(t: TestContext, sub: string, used: Map<string, string[]>, known: Set<string> | null): Promise<void> {
  for (const [flag, where] of used) {
    await t.test(`edge-xds ${sub} ${flag}`, () => {
      assert.ok(known?.has(flag), `\`edge-xds ${sub}\` has no ${flag} (used by ${where.join(', ')})`);
    });
  }
}

function usedFlags(sub: string): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const [name, s] of edgeXds) {
    if (s.command?.[0] !== sub) continue;
    for (const f of flagsOf(s.command)) used.set(f, [...(used.get(f) ?? []), name]);
  }
  return used;
}

describe('examples/multi-region/docker-compose.yml', () => {
  test('docker-compose config -q accepts it', (t) => {
    const v = spawnSync('docker-compose', ['version'], { encoding: 'utf8', timeout: 20_000 });
    if (v.error || v.status !== 0) {
      // CI (EDGE_XDS_REQUIRE_TOOLS=1, set by .ci/run) must run it, never skip it silently.
      assert.ok(!process.env.EDGE_XDS_REQUIRE_TOOLS, 'docker-compose is required in CI (.ci/run installs it)');
      t.skip('docker-compose not installed: `apt-get install docker-compose` (Debian) to validate the compose file');
      return;
    }
    const r = spawnSync('docker-compose', ['-f', COMPOSE, 'config', '-q'], { cwd: EXAMPLE, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `docker-compose config failed:\n${r.stdout}${r.stderr}`);
  });

  test('edge-xds serve: every flag is known to the CLI', async (t) => {
    const cli = cliFlags('serve');
    assert.ok(cli, '`edge-xds serve --help` works');
    await checkFlags(t, 'serve', usedFlags('serve'), cli.flags);
  });

  test('edge-xds bootstrap: every flag is known to the CLI', async (t) => {
    const used = usedFlags('bootstrap');
    assert.ok(used.size > 0, 'the compose file generates Envoy bootstraps with `edge-xds bootstrap`');
    const cli = cliFlags('bootstrap');
    assert.ok(cli, '`edge-xds bootstrap --help` works');
    for (const f of ['--node-id', '--region', '--zone', '--xds-server', '--out']) assert.ok(used.has(f), `the compose file uses bootstrap ${f}`);
    await checkFlags(t, 'bootstrap', used, cli.flags);
  });

  test('the relay flags are used as the CLI expects them', () => {
    const relays = edgeXds.filter(([, s]) => s.command?.[0] === 'serve' && valueOf(s.command, '--role')[0] === 'regional');
    assert.equal(relays.length, 4, 'two relays per region');
    for (const [name, s] of relays) {
      const c = s.command ?? [];
      for (const f of ['--region', '--upstream', '--advertise-address', '--location']) assert.equal(valueOf(c, f).length >= 1, true, `${name} ${f}`);
      assert.ok(name.startsWith(valueOf(c, '--region')[0]!), `${name} serves its own region`);
      assert.match(valueOf(c, '--location')[0]!, /^-?\d+(\.\d+)?,-?\d+(\.\d+)?$/, `${name} --location`);
      const adv = valueOf(c, '--advertise-address')[0];
      assert.ok(
        Object.values(s.networks ?? {}).some((n) => n?.ipv4_address === adv),
        `${name} advertises one of its own addresses (${adv})`,
      );
    }
  });

  test('secure by default: provision.sh enrolls every relay and site with flags the CLI knows, and each service uses its own folder', () => {
    const script = fs.readFileSync(path.join(EXAMPLE, 'provision.sh'), 'utf8');
    const token = cliFlags('token create');
    const enroll = cliFlags('enroll');
    assert.ok(token && enroll, '`edge-xds token create --help` and `edge-xds enroll --help` work');
    for (const line of script.split('\n').filter((l) => /\bcli (token create|enroll)\b/.test(l))) {
      const known = line.includes('cli token create') ? token.flags : enroll.flags;
      for (const f of line.match(/--[a-z-]+/g) ?? []) assert.ok(known.has(f), `provision.sh: ${f} is not a flag of that command: ${line.trim()}`);
    }
    const enrolled = new Set([...script.matchAll(/^enroll (?:relay|node) (\S+)/gm)].map((m) => m[1]!));
    for (const m of script.matchAll(/for node in ([^;]+); do enroll node/g)) for (const id of m[1]!.trim().split(/\s+/)) enrolled.add(id);
    // No service runs in open mode; each one points at its own enrolled folder.
    for (const [name, s] of services) {
      const c = [...(s.entrypoint ?? []), ...(s.command ?? [])];
      assert.ok(!c.includes('--insecure'), `${name} runs --insecure`);
      for (const f of ['--tls-dir', '--cert-dir']) for (const d of valueOf(c, f)) assert.ok(enrolled.has(path.basename(d)), `${name} ${f} ${d}: not enrolled by provision.sh`);
      for (const f of ['--token-file', '--cacert'])
        for (const d of valueOf(c, f)) assert.ok(enrolled.has(path.basename(path.dirname(d))), `${name} ${f} ${d}: not enrolled by provision.sh`);
      for (const u of valueOf(c, '--registry-url')) assert.ok(u.startsWith('https://'), `${name} registers over ${u}`);
    }
    for (const [name, s] of edgeXds.filter(([, s]) => valueOf(s.command ?? [], '--role')[0] === 'regional')) {
      assert.deepEqual(valueOf(s.command ?? [], '--tls-dir'), [`/certs/${name}`], `${name} runs with its relay certificate`);
    }
    for (const [name, s] of edgeXds.filter(([, s]) => s.command?.[0] === 'bootstrap')) {
      assert.deepEqual(
        valueOf(s.command ?? [], '--cert-dir'),
        [`/certs/${valueOf(s.command ?? [], '--node-id')[0]}`],
        `${name}: the Envoy bootstrap uses mTLS with its node's files`,
      );
    }
  });

  test('only known edge-xds subcommands are used', () => {
    for (const [name, s] of edgeXds) assert.ok(['serve', 'bootstrap', 'migrate'].includes(s.command?.[0] ?? ''), `${name}: ${s.command?.[0]}`);
  });

  test('ports: serve uses the CLI defaults; clients use them too', () => {
    const cli = cliFlags('serve');
    assert.ok(cli);
    const httpDefault = helpDefault(cli.help, '--http-port');
    const xdsDefault = helpDefault(cli.help, '--xds-port');
    assert.equal(httpDefault, '8080');
    assert.equal(xdsDefault, '18000');
    for (const [name, s] of edgeXds.filter(([, s]) => s.command?.[0] === 'serve')) {
      assert.deepEqual(valueOf(s.command ?? [], '--http-port'), [httpDefault], name);
      assert.deepEqual(valueOf(s.command ?? [], '--xds-port'), [xdsDefault], name);
      for (const u of valueOf(s.command ?? [], '--upstream')) assert.ok(u.endsWith(`:${xdsDefault}`), `${name} --upstream ${u}`);
      for (const p of s.ports ?? []) assert.ok(p.endsWith(`:${httpDefault}`) || p.endsWith(`:${xdsDefault}`), `${name} publishes ${p}`);
    }
    for (const [name, s] of byEntry('dist/src/demo/backend-main.js')) {
      for (const u of valueOf(s.command ?? [], '--registry-url')) assert.equal(new URL(u).port, httpDefault, `${name} --registry-url ${u}`);
    }
    for (const [name, s] of edgeXds.filter(([, s]) => s.command?.[0] === 'bootstrap')) {
      for (const x of valueOf(s.command ?? [], '--xds-server')) assert.ok(x.endsWith(`:${xdsDefault}`), `${name} --xds-server ${x}`);
    }
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, new RegExp(`^EXPOSE ${httpDefault} ${xdsDefault}$`, 'm'));
  });

  test('demo backends and load generators parse with their own CLIs', () => {
    const parseWith = (build: () => Command, name: string, args: string[]): void => {
      const cmd = build()
        .exitOverride()
        .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
      try {
        cmd.parse(args, { from: 'user' });
      } catch (err) {
        assert.fail(`${name}: ${(err as CommanderError).message}`);
      }
    };
    const backends = byEntry('dist/src/demo/backend-main.js');
    const loadgens = byEntry('dist/src/demo/loadgen-main.js');
    assert.ok(backends.length >= 4 && loadgens.length === 2, 'two regions: sites and one load generator each');
    for (const [name, s] of backends) parseWith(buildBackendCommand, name, s.command ?? []);
    for (const [name, s] of loadgens) parseWith(buildLoadgenCommand, name, s.command ?? []);
  });

  test('sites are consistent: backend address = its Envoy backbone IP, same node id as the bootstrap', () => {
    for (const [name, s] of byEntry('dist/src/demo/backend-main.js')) {
      const envoyName = s.network_mode?.replace(/^service:/, '') ?? '';
      const envoy = compose.services[envoyName];
      assert.ok(envoy, `${name} shares the network namespace of its Envoy`);
      assert.deepEqual(valueOf(s.command ?? [], '--advertise-address'), [envoy.networks?.backbone?.ipv4_address], name);
      const site = valueOf(s.command ?? [], '--node-id')[0];
      const boot = compose.services[envoyName.replace(/-envoy$/, '-bootstrap')];
      assert.deepEqual(valueOf(boot?.command ?? [], '--node-id'), [site], `${name}: bootstrap node id`);
      assert.ok(envoy.command?.includes(`/bootstrap/${site}.yaml`) && boot.command?.includes(`/bootstrap/${site}.yaml`), `${name}: bootstrap file`);
    }
  });

  test('netem address plan matches the backbone network', () => {
    const script = fs.readFileSync(path.join(EXAMPLE, 'netem.sh'), 'utf8');
    assert.equal(compose.networks.backbone.ipam.config[0].subnet, '10.77.0.0/16');
    assert.match(script, /GLOBAL=10\.77\.0\.0\/24/);
    assert.equal(compose.services.global.networks?.backbone?.ipv4_address?.startsWith('10.77.0.'), true);
    for (const [name, s] of services) {
      const ip = s.networks?.backbone?.ipv4_address;
      if (!ip || name === 'global') continue;
      const region = name.startsWith('cn-east') || name.startsWith('east-') ? 1 : 2;
      assert.ok(ip.startsWith(`10.77.${region}.`), `${name} ${ip} is in its region's backbone range`);
    }
  });
});
