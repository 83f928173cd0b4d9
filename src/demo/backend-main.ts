#!/usr/bin/env node
/**
 * Demo echo backend process:
 *   node dist/src/demo/backend-main.js --port 50051 --node-id cn-east-a --region cn-east --zone cn-east-1 \
 *     --lat 31.23 --lon 121.47 --latency-ms 5 --registry-url http://relay1:8080 --registry-url http://global:8080 \
 *     --heartbeat-interval 2s [--admin-port 9090]
 * SIGTERM/SIGINT: deregister (best effort, 2 s) and exit 0. Logs go to stderr as JSON lines.
 */
import fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { startBackendAdmin } from './admin';
import { collect, durationArg, intArg, numberArg } from './args';
import { startEchoBackend } from './backend';
import { stderrLogger } from './log';

interface Flags {
  host: string;
  port: number;
  nodeId: string;
  region: string;
  zone: string;
  subZone: string;
  lat: number;
  lon: number;
  latencyMs: number;
  latencyMatrix?: { zone: number; region: number; remote: number };
  serviceName: string;
  advertiseAddress?: string;
  advertisePort?: number;
  registryUrl?: string[];
  heartbeatInterval: number;
  apiToken?: string;
  tokenFile?: string;
  cacert?: string;
  maxRps?: number;
  adminHost: string;
  adminPort?: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export function buildBackendCommand(): Command {
  return new Command('edge-xds-demo-backend')
    .description('demo echo backend: serves edgexds.demo.v1.Echo + grpc.health.v1, registers and heartbeats to edge-xds')
    .option('--host <host>', 'interface to listen on', '0.0.0.0')
    .option('--port <port>', 'gRPC port (0 = any free port)', intArg(0, 65535), 50051)
    .requiredOption('--node-id <id>', 'node id (a DNS label)')
    .requiredOption('--region <region>', 'region')
    .requiredOption('--zone <zone>', 'zone')
    .option('--sub-zone <subZone>', 'sub-zone', '')
    .requiredOption('--lat <lat>', 'latitude', numberArg(-90, 90))
    .requiredOption('--lon <lon>', 'longitude', numberArg(-180, 180))
    .option('--latency-ms <ms>', 'artificial delay per request', numberArg(0, 600_000), 0)
    .option('--latency-matrix <zone,region,remote>', 'extra delay (ms) by where the caller is (metadata x-client-region/zone): same zone, same region, other region', matrixArg)
    .option('--service-name <name>', 'service name registered', 'echo')
    .option('--advertise-address <ip>', 'IP registered as the node address (default: first non-internal IPv4)')
    .option('--advertise-port <port>', 'port registered for the service (default: --port)', intArg(1, 65535))
    .option('--registry-url <url>', 'edge-xds REST base URL, repeatable, in failover order (relays first, global last)', collect)
    .option('--heartbeat-interval <duration>', 'heartbeat interval', durationArg, 2000)
    .addOption(new Option('--api-token <token>', 'bearer token for the REST API').env('EDGE_XDS_API_TOKEN'))
    .addOption(new Option('--token-file <file>', "secure mode: file with this node's token (node-token written by `edge-xds enroll`)"))
    .addOption(new Option('--cacert <file>', 'secure mode: CA bundle that https:// registry URLs are verified against (ca.pem)'))
    .option('--max-rps <n>', 'declared capacity (requests per second)', numberArg(1, 1e9))
    .option('--admin-host <host>', 'interface of the control endpoint', '127.0.0.1')
    .option('--admin-port <port>', 'HTTP control endpoint (latency, load, heartbeats); off when absent', intArg(0, 65535))
    .option('--log-level <level>', 'debug|info|warn|error', 'info');
}

function matrixArg(text: string): { zone: number; region: number; remote: number } {
  const parts = text.split(',').map((x) => x.trim());
  const n = parts.map(Number);
  if (parts.length !== 3 || parts.some((x) => x === '') || n.some((x) => !Number.isFinite(x) || x < 0 || x > 600_000)) {
    throw new InvalidArgumentError(`expected three delays in ms ZONE,REGION,REMOTE (e.g. 2,15,40), got "${text}"`);
  }
  return { zone: n[0], region: n[1], remote: n[2] };
}

export async function runBackend(argv: string[]): Promise<void> {
  const cmd = buildBackendCommand();
  cmd.parse(argv);
  const f = cmd.opts<Flags>();
  const logger = stderrLogger(f.nodeId, f.logLevel);
  const backend = await startEchoBackend({
    host: f.host,
    port: f.port,
    nodeId: f.nodeId,
    region: f.region,
    zone: f.zone,
    subZone: f.subZone,
    location: { lat: f.lat, lon: f.lon },
    latencyMs: f.latencyMs,
    latencyByDistance: f.latencyMatrix,
    serviceName: f.serviceName,
    advertiseAddress: f.advertiseAddress,
    advertisePort: f.advertisePort,
    capacity: f.maxRps ? { maxRps: f.maxRps } : {},
    registry: f.registryUrl?.length
      ? {
          urls: f.registryUrl,
          heartbeatIntervalMs: f.heartbeatInterval,
          apiToken: f.tokenFile ? fs.readFileSync(f.tokenFile, 'utf8').trim() : f.apiToken,
          tls: f.cacert ? { ca: fs.readFileSync(f.cacert, 'utf8') } : undefined,
        }
      : undefined,
    logger,
  });
  const admin = f.adminPort === undefined ? null : await startBackendAdmin(backend, { nodeId: f.nodeId, latencyMs: f.latencyMs, load: null }, f.adminHost, f.adminPort);
  // One line on stdout for scripts: where it listens.
  process.stdout.write(
    `${JSON.stringify({ type: 'listening', nodeId: f.nodeId, port: backend.port, advertiseAddress: backend.advertiseAddress, adminPort: admin?.port ?? null })}\n`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: deregistering');
    const hard = setTimeout(() => process.exit(0), 3000);
    hard.unref();
    void Promise.race([backend.deregister().catch(() => 0), new Promise((r) => setTimeout(r, 2000))])
      .then(() => Promise.all([backend.close(), admin?.close()]))
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

if (require.main === module) {
  runBackend(process.argv).catch((err: Error) => {
    process.stderr.write(`backend: ${err.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
