/**
 * Load generator thread of the heartbeat benchmark: `connections` concurrent
 * keep-alive loops, each sending POST /v1/nodes/{id}/heartbeat back to back,
 * until the deadline or the request budget is used up. With `bindings`
 * (the secure bench, test/bench/secure.ts) connection k heartbeats only its
 * node, with that node's credential: a client certificate on a TLS
 * connection, or a bearer token; with `tls` the raw client speaks HTTPS.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';

export interface WorkerConfig {
  port: number;
  nodeIds: string[];
  connections: number;
  durationMs: number;
  maxRequests: number;
  /** Latencies of requests started before this time are not recorded. */
  measureFromMs: number;
  /** 'raw': minimal HTTP/1.1 keep-alive client on net.Socket (cheap); 'http': node:http with a keep-alive Agent. */
  client: 'raw' | 'http';
  /** HTTPS (raw client only): the CA bundle that verifies the server. */
  tls?: { caPem: string };
  /** One per connection (raw client only): the node it heartbeats, and its credential (bearer token and/or client certificate). */
  bindings?: ConnectionBinding[];
}

export interface ConnectionBinding {
  nodeId: string;
  token?: string;
  keyPem?: string;
  certPem?: string;
}

export type WorkerMessage =
  | { type: 'progress'; done: number; errors: number }
  | {
      type: 'done';
      done: number;
      errors: number;
      measured: number;
      firstMeasuredAt: number;
      lastDoneAt: number;
      latencies: Float64Array;
      statuses: Record<string, number>;
      firstError?: string;
    };

const cfg = workerData as WorkerConfig;
const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.connections, maxFreeSockets: cfg.connections });
const deadline = Date.now() + cfg.durationMs;
const measureFrom = Date.now() + cfg.measureFromMs;

let issued = 0;
let done = 0;
let errors = 0;
let measured = 0;
let firstMeasuredAt = 0;
let lastDoneAt = 0;
let latencies = new Float64Array(1 << 16);
let firstError = '';
const statuses: Record<string, number> = {};

function body(): Buffer {
  const cpu = Math.round(Math.random() * 100) / 100;
  const lat = Math.round(5 + Math.random() * 80);
  return Buffer.from(`{"load":{"cpu":${cpu},"memory":0.5,"network":0.2},"network":{"latencyMs":${lat},"jitterMs":3,"packetLoss":0.001}}`);
}

function record(status: number, ms: number, startedWall: number): void {
  done++;
  const key = String(status);
  statuses[key] = (statuses[key] ?? 0) + 1;
  if (status !== 204) errors++;
  else if (startedWall >= measureFrom) {
    if (measured === 0) firstMeasuredAt = startedWall;
    if (measured === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[measured++] = ms;
    lastDoneAt = Date.now();
  }
}

/** One keep-alive connection speaking just enough HTTP/1.1 (one request at a time, no pipelining). */
function rawLoop(k: number): Promise<void> {
  const bound = cfg.bindings?.[k % cfg.bindings.length];
  const auth = bound?.token ? `Authorization: Bearer ${bound.token}\r\n` : '';
  return new Promise((resolve) => {
    const sock = cfg.tls ? tls.connect({ host: '127.0.0.1', port: cfg.port, ca: cfg.tls.caPem, key: bound?.keyPem, cert: bound?.certPem }) : net.connect(cfg.port, '127.0.0.1');
    sock.setNoDelay(true);
    sock.setEncoding('latin1');
    let buf = '';
    let started = 0;
    let startedWall = 0;
    const send = (): void => {
      if (Date.now() >= deadline || issued >= cfg.maxRequests) {
        sock.end();
        return;
      }
      issued++;
      const id = bound ? bound.nodeId : cfg.nodeIds[(Math.random() * cfg.nodeIds.length) | 0];
      const payload = body().toString('latin1');
      started = performance.now();
      startedWall = Date.now();
      sock.write(
        `POST /v1/nodes/${id}/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`,
        'latin1',
      );
    };
    sock.on(cfg.tls ? 'secureConnect' : 'connect', send);
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const cl = /\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end));
        const total = end + 4 + (cl ? Number(cl[1]) : 0);
        if (buf.length < total) return;
        const status = Number(buf.slice(9, 12));
        buf = buf.slice(total);
        record(status, performance.now() - started, startedWall);
        send();
      }
    });
    sock.on('error', (err: Error) => {
      firstError ||= err.message;
      done++;
      errors++;
      statuses.error = (statuses.error ?? 0) + 1;
      resolve();
    });
    sock.on('close', () => resolve());
  });
}

function one(): Promise<void> {
  const id = cfg.nodeIds[(Math.random() * cfg.nodeIds.length) | 0];
  const payload = body();
  const started = performance.now();
  const startedWall = Date.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: cfg.port,
        method: 'POST',
        path: `/v1/nodes/${id}/heartbeat`,
        agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          record(res.statusCode ?? 0, performance.now() - started, startedWall);
          resolve();
        });
      },
    );
    req.on('error', () => {
      done++;
      errors++;
      statuses.error = (statuses.error ?? 0) + 1;
      resolve();
    });
    req.end(payload);
  });
}

async function loop(): Promise<void> {
  while (Date.now() < deadline && issued < cfg.maxRequests) {
    issued++;
    await one();
  }
}

const progress = setInterval(() => parentPort?.postMessage({ type: 'progress', done, errors } satisfies WorkerMessage), 1000);

if ((cfg.tls || cfg.bindings) && cfg.client !== 'raw') throw new Error('heartbeat worker: TLS and per-connection credentials need the raw client');

void Promise.all(Array.from({ length: cfg.connections }, (_, k) => (cfg.client === 'raw' ? rawLoop(k) : loop()))).then(() => {
  clearInterval(progress);
  agent.destroy();
  const msg: WorkerMessage = { type: 'done', done, errors, measured, firstMeasuredAt, lastDoneAt, latencies: latencies.slice(0, measured), statuses, firstError };
  parentPort?.postMessage(msg);
});
