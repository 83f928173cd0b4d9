/**
 * SEAM: the xDS gRPC server. src/xds/ will provide the real implementation
 * (ADS, SotW and delta); until then the composition root uses
 * HealthOnlyXdsComponent, which binds a @grpc/grpc-js server on --xds-port
 * that only serves grpc.health.v1.Health, so the port, the ready file and
 * shutdown are already real.
 */
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '../observability';
import type { Metrics } from '../observability';
import type { RegistryView } from '../registry';

export interface XdsComponent {
  /** Binds and starts serving on host:port (0 = any free port); resolves with the bound port. */
  start(host: string, port: number): Promise<number>;
  /** Stops serving (gracefully, then forcibly after a short wait). */
  close(): Promise<void>;
}

/** What a real xDS component gets from the composition root. */
export interface XdsComponentDeps {
  registry: RegistryView;
  metrics: Metrics;
  logger: Logger;
}

export type XdsComponentFactory = (deps: XdsComponentDeps) => XdsComponent;

/** Placeholder: a gRPC server with only the standard health service. */
export class HealthOnlyXdsComponent implements XdsComponent {
  private server: grpc.Server | null = null;
  private readonly health = new HealthImplementation({ '': 'SERVING' });

  async start(host: string, port: number): Promise<number> {
    const server = new grpc.Server();
    this.health.addToServer(server);
    const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.server = server;
    return bound;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.health.setStatus('', 'NOT_SERVING');
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 1000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}

export const healthOnlyXds: XdsComponentFactory = () => new HealthOnlyXdsComponent();
