/**
 * The floor: a minimal grpc-js ADS server (no registry, no computation) that
 * answers every subscription with pre-encoded responses captured from the
 * real server (same resources, same sizes), and on `push` writes one
 * pre-encoded EDS change to every stream. What the runtime itself can do.
 *
 * Run as a forked process (this file's main); the parent uses startFloor().
 */
import * as grpc from '@grpc/grpc-js';
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { TYPE_URL, envoyType, type ResourceKind } from '../../src/xds/protos';
import { encodedResource, type EncodedResource } from '../../src/xds/encoded-resource';
import { deltaResponse, sotwResponseBody, withNonce } from '../../src/xds/wire';
import { parseResponse, rdsNamesOfListener, sotwRequest, type FleetNode } from './fleet-wire';

export interface FloorFixture {
  /** kind -> [name, base64 bytes] of what a proxy of the first zone receives. */
  resources: Record<ResourceKind, Array<[string, string]>>;
  /** The changed ClusterLoadAssignment pushed on `push`. */
  changed: [string, string];
}

/** Captures what one SotW proxy at `node` receives from a real server (then closes the stream). */
export async function captureFixture(target: string, node: FleetNode, changeCluster: string, timeoutMs = 20_000): Promise<FloorFixture> {
  const client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
  const call = client.makeBidiStreamRequest(
    '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
    (b: Buffer) => b,
    (b: Buffer) => b,
  );
  const got: Partial<Record<ResourceKind, Array<[string, string]>>> = {};
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('floor fixture: no complete config in time')), timeoutMs);
      call.on('error', (e) => reject(e));
      call.on('data', (b: Buffer) => {
        const r = parseResponse(b, false);
        if (!r.kind) return;
        const list: Array<[string, string]> = r.resources.map((x) => [x.name, Buffer.from(x.bytes).toString('base64')]);
        if (r.kind === 'endpoint' || r.kind === 'route') {
          // SotW EDS/RDS responses after the first name only what changed: merge, as a proxy does.
          const held = new Map(got[r.kind] ?? []);
          for (const [n, v] of list) held.set(n, v);
          got[r.kind] = [...held].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        } else got[r.kind] = list;
        if (r.kind === 'cluster') call.write(sotwRequest(null, TYPE_URL.endpoint, r.resources.map((x) => x.name).sort(), '', ''));
        if (r.kind === 'listener') call.write(sotwRequest(null, TYPE_URL.route, [...new Set(r.resources.flatMap((x) => rdsNamesOfListener(x.bytes)))].sort(), '', ''));
        if (got.cluster && got.endpoint && got.listener && got.route) {
          clearTimeout(timer);
          resolve();
        }
      });
      call.write(sotwRequest(node, TYPE_URL.cluster, [], '', ''));
      call.write(sotwRequest(null, TYPE_URL.listener, [], '', ''));
    });
  } finally {
    call.cancel();
    client.close();
  }
  const resources = got as Record<ResourceKind, Array<[string, string]>>;
  const target0 = resources.endpoint.find(([n]) => n === changeCluster) ?? resources.endpoint[0];
  // The change: the same assignment with its first endpoint's weight bumped (same size give or take a byte).
  const t = envoyType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  const cla = t.toObject(t.decode(Buffer.from(target0[1], 'base64')), { longs: String, enums: String }) as {
    endpoints?: Array<{ lb_endpoints?: Array<{ load_balancing_weight?: { value: number } }> }>;
  };
  const lb = cla.endpoints?.[0]?.lb_endpoints?.[0];
  if (lb) lb.load_balancing_weight = { value: (lb.load_balancing_weight?.value ?? 1) + 1 };
  const changed = Buffer.from(t.encode(t.fromObject(cla)).finish()).toString('base64');
  return { resources, changed: [target0[0], changed] };
}

export interface FloorHandle {
  port: number;
  pid: number;
  /** Writes the pre-encoded EDS change to every stream; resolves when written. */
  push(): Promise<number>;
  stop(): Promise<void>;
}

export async function startFloor(fixture: FloorFixture, fixtureFile: string): Promise<FloorHandle> {
  fs.writeFileSync(fixtureFile, JSON.stringify(fixture));
  const child: ChildProcess = fork(__filename, ['--floor', fixtureFile], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters: Array<(m: { type: string; port?: number; streams?: number }) => void> = [];
  child.on('message', (m: { type: string }) => waiters.shift()?.(m));
  const next = (timeoutMs: number): Promise<{ type: string; port?: number; streams?: number }> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('floor server did not answer')), timeoutMs);
      waiters.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  const ready = await next(20_000);
  return {
    port: ready.port!,
    pid: child.pid!,
    push: async () => {
      const p = next(60_000);
      child.send({ cmd: 'push' });
      return (await p).streams ?? 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

// ---- the floor process ---------------------------------------------------------

interface FloorStream {
  delta: boolean;
  call: grpc.ServerDuplexStream<Buffer, Buffer>;
  nonce: number;
  eds: boolean;
}

function floorMain(file: string): void {
  const fx = JSON.parse(fs.readFileSync(file, 'utf8')) as FloorFixture;
  const enc = (kind: ResourceKind, [name, b64]: [string, string]): EncodedResource => encodedResource(kind, name, Buffer.from(b64, 'base64'));
  const sets = {} as Record<ResourceKind, EncodedResource[]>;
  for (const kind of Object.keys(fx.resources) as ResourceKind[]) sets[kind] = fx.resources[kind].map((r) => enc(kind, r));
  const changed = enc('endpoint', fx.changed);
  const byUrl = new Map<string, ResourceKind>(Object.entries(TYPE_URL).map(([k, u]) => [u, k as ResourceKind]));
  const sotwBodies = {} as Record<ResourceKind, Buffer>;
  for (const kind of Object.keys(sets) as ResourceKind[]) sotwBodies[kind] = sotwResponseBody(`v1-${kind}`, TYPE_URL[kind], sets[kind]);
  // Like our server, a SotW EDS change names only the changed assignment (the proxy holds the rest).
  const sotwPush = sotwResponseBody('v2-endpoint', TYPE_URL.endpoint, [changed]);
  const streams = new Set<FloorStream>();

  // Requests: only type_url (field 4 SotW / 2 delta) and response_nonce (5 / 6) are read.
  const reqInfo = (b: Buffer, delta: boolean): { kind: ResourceKind | undefined; acking: boolean } => {
    const { Reader } = require('protobufjs') as typeof import('protobufjs');
    const r = Reader.create(b);
    let url = '';
    let nonce = '';
    while (r.pos < r.len) {
      const tag = r.uint32();
      const f = tag >>> 3;
      if (f === (delta ? 2 : 4)) url = r.string();
      else if (f === (delta ? 6 : 5)) nonce = r.string();
      else r.skipType(tag & 7);
    }
    return { kind: byUrl.get(url), acking: nonce !== '' };
  };
  const handler =
    (delta: boolean) =>
    (call: grpc.ServerDuplexStream<Buffer, Buffer>): void => {
      const s: FloorStream = { delta, call, nonce: 0, eds: false };
      streams.add(s);
      call.on('data', (b: Buffer) => {
        const { kind, acking } = reqInfo(b, delta);
        if (!kind || acking) return;
        if (kind === 'endpoint') s.eds = true;
        const nonce = (++s.nonce).toString(36);
        call.write(delta ? deltaResponse(`v1-${kind}`, TYPE_URL[kind], sets[kind], [], nonce) : withNonce(sotwBodies[kind], nonce));
      });
      const done = (): void => void streams.delete(s);
      call.on('error', done);
      call.on('close', done);
      call.on('cancelled', done);
      call.on('end', () => {
        done();
        call.end();
      });
    };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  const m = (p: string): grpc.MethodDefinition<Buffer, Buffer> => ({
    path: `/envoy.service.discovery.v3.AggregatedDiscoveryService/${p}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  });
  server.addService({ StreamAggregatedResources: m('StreamAggregatedResources'), DeltaAggregatedResources: m('DeltaAggregatedResources') } as grpc.ServiceDefinition, {
    StreamAggregatedResources: handler(false),
    DeltaAggregatedResources: handler(true),
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.send!({ type: 'ready', port });
  });
  process.on('message', (msg: { cmd: string }) => {
    if (msg.cmd !== 'push') return;
    let n = 0;
    for (const s of streams) {
      if (!s.eds) continue;
      const nonce = (++s.nonce).toString(36);
      s.call.write(s.delta ? deltaResponse('v2-endpoint', TYPE_URL.endpoint, [changed], [], nonce) : withNonce(sotwPush, nonce));
      n++;
    }
    process.send!({ type: 'pushed', streams: n });
  });
  process.on('SIGTERM', () => {
    server.forceShutdown();
    process.exit(0);
  });
}

if (require.main === module && process.argv[2] === '--floor') floorMain(process.argv[3]);
