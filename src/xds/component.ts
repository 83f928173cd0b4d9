/**
 * The xDS part of a server, as the composition root sees it: the snapshot
 * source fed by the registry, and the gRPC server that streams it.
 */
import type { RegistryView } from '../domain';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import type { WeightsConfig } from '../model';
import { MeshSource, type MeshSourceOptions } from './mesh-source';
import { XdsServer, type XdsServerOptions } from './server';
import type { SnapshotSource } from './source';

export interface XdsComponentOptions {
  registry: RegistryView;
  logger: Logger;
  metrics: Metrics;
  weights?: WeightsConfig;
  source?: Omit<MeshSourceOptions, 'registry' | 'logger' | 'metrics' | 'weights'>;
  extraServices?: XdsServerOptions['extraServices'];
  /** Server-wide bound on response bytes in flight (XdsServerOptions.maxBytesInFlight). */
  maxBytesInFlight?: number;
  /** Request-size and stream caps of the xDS port (XdsServerOptions.limits; defaults: XDS_LIMITS). */
  limits?: XdsServerOptions['limits'];
  /** Secure mode (XdsServerOptions.authorize, .credentials). */
  authorize?: XdsServerOptions['authorize'];
  credentials?: XdsServerOptions['credentials'];
  /** What the xDS server streams (default: the mesh source itself; relays wrap it). */
  serve?: (mesh: MeshSource) => SnapshotSource;
}

export class XdsComponent {
  readonly source: MeshSource;
  readonly server: XdsServer;
  /** The source the server streams (the mesh source, or a relay's source around it). */
  readonly served: SnapshotSource;

  constructor(opts: XdsComponentOptions) {
    this.source = new MeshSource({ ...opts.source, registry: opts.registry, logger: opts.logger, metrics: opts.metrics, weights: opts.weights });
    this.served = opts.serve ? opts.serve(this.source) : this.source;
    this.server = new XdsServer({
      source: this.served,
      logger: opts.logger,
      metrics: opts.metrics,
      extraServices: opts.extraServices,
      maxBytesInFlight: opts.maxBytesInFlight,
      limits: opts.limits,
      authorize: opts.authorize,
      credentials: opts.credentials,
    });
  }

  start(host: string, port: number): Promise<number> {
    return this.server.start(host, port);
  }

  async close(): Promise<void> {
    this.source.close();
    await this.server.close();
  }
}
