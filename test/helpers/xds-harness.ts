/**
 * An in-process edge-xds core for xDS tests: a real SQLite file, the real
 * Registry and the real xDS server on 127.0.0.1 (ephemeral port).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from '../../src/registry';
import type { NodeRegistration } from '../../src/domain';
import { Store, migrateLatest, openDatabase } from '../../src/store';
import { Metrics, silentLogger } from '../../src/observability';
import { XdsComponent, type XdsComponentOptions } from '../../src/xds';

export interface XdsHarness {
  dir: string;
  dbFile: string;
  registry: Registry;
  xds: XdsComponent;
  target: string;
  port: number;
  metrics: Metrics;
  close(): Promise<void>;
}

export async function startXdsHarness(
  opts: { dir?: string; heartbeatIntervalMs?: number; drainGraceMs?: number; source?: XdsComponentOptions['source']; port?: number } = {},
): Promise<XdsHarness> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'edge-xds-test-'));
  const dbFile = path.join(dir, 'edge-xds.db');
  const db = openDatabase({ file: dbFile });
  await migrateLatest(db);
  const store = new Store(db);
  const registry = await Registry.open({ store, heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 10_000, drainGraceMs: opts.drainGraceMs ?? 30_000 });
  const metrics = new Metrics(false);
  const xds = new XdsComponent({
    registry,
    logger: silentLogger(),
    metrics,
    source: { coalesceMs: 20, maxDelayMs: 200, weightPushIntervalMs: 0, ...opts.source },
  });
  const port = await xds.start('127.0.0.1', opts.port ?? 0);
  return {
    dir,
    dbFile,
    registry,
    xds,
    port,
    target: `127.0.0.1:${port}`,
    metrics,
    async close() {
      await xds.close();
      await registry.close();
      await store.close();
    },
  };
}

let seq = 0;
/** A registration with sensible defaults; override what the test cares about. */
export function node(over: Partial<NodeRegistration> & { id: string }): NodeRegistration {
  seq++;
  return {
    role: 'edge',
    region: 'cn-east',
    zone: 'shanghai-a',
    subZone: '',
    location: { lat: 31.23, lon: 121.47 },
    address: `127.0.1.${(seq % 250) + 1}`,
    services: [{ name: 'echo', port: 50051, protocol: 'grpc' }],
    capacity: { cpu: 4, maxRps: 500 },
    labels: {},
    ...over,
  };
}
