/**
 * Control endpoint of a demo backend process (backend-main --admin-port), so
 * scenarios can overload or silence a running site:
 *   GET  /status                      -> {nodeId, latencyMs, load, served, registry}
 *   POST /latency    {"ms": 250}
 *   POST /load       {"cpu": 0.97, "memory": 0.9, "network": 0.5} | {} (back to measured)
 *   POST /heartbeats {"enabled": false|true}
 *   POST /serving    {"serving": false|true}   (grpc.health.v1 status)
 *   POST /deregister
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EchoBackend } from './backend';
import type { Load } from './registry-client';

export interface AdminState {
  nodeId: string;
  latencyMs: number;
  load: Load | null;
}

export async function startBackendAdmin(backend: EchoBackend, state: AdminState, host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req.method ?? 'GET', req.url ?? '/', Buffer.concat(chunks).toString('utf8')).then(([status, body]) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
  });

  async function handle(method: string, url: string, text: string): Promise<[number, unknown]> {
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return [400, { error: 'body must be JSON' }];
    }
    const path = url.split('?')[0];
    try {
      if (method === 'GET' && path === '/status') {
        return [200, { ...state, served: backend.served(), registry: backend.registryStats() }];
      }
      if (method !== 'POST') return [404, { error: `no route ${method} ${path}` }];
      switch (path) {
        case '/latency':
          backend.setLatency(Number(body.ms));
          state.latencyMs = Number(body.ms);
          return [200, { latencyMs: state.latencyMs }];
        case '/load': {
          const load = Object.keys(body).length === 0 ? null : { cpu: Number(body.cpu ?? 0), memory: Number(body.memory ?? 0), network: Number(body.network ?? 0) };
          backend.setLoad(load);
          state.load = load;
          return [200, { load }];
        }
        case '/heartbeats':
          if (body.enabled === false) backend.stopHeartbeats();
          else backend.resumeHeartbeats();
          return [200, { heartbeats: body.enabled !== false }];
        case '/serving':
          backend.setServing(body.serving !== false);
          return [200, { serving: body.serving !== false }];
        case '/deregister':
          return [200, { status: await backend.deregister() }];
        default:
          return [404, { error: `no route ${method} ${path}` }];
      }
    } catch (err) {
      return [400, { error: (err as Error).message }];
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
