/**
 * The documented example inputs behind envoy/examples/. The committed files
 * are exactly `renderExample(e)` for each entry (a test regenerates and
 * compares); after changing a template or these inputs run
 *   npm run build && node -e "require('./dist/src/bootstrap').writeExamples()"
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { envoyDir, renderEnvoyBootstrap, type EnvoyBootstrapParams } from './envoy';
import { renderGrpcBootstrap, type GrpcBootstrapParams } from './grpc';

export type BootstrapExample = { file: string; kind: 'envoy'; params: EnvoyBootstrapParams } | { file: string; kind: 'grpc'; params: GrpcBootstrapParams };

const EU_RELAYS = [
  { host: 'relay-eu-west-1', port: 18000 },
  { host: 'relay-eu-west-2', port: 18000 },
  { host: 'global-xds', port: 18000 },
];

export const BOOTSTRAP_EXAMPLES: BootstrapExample[] = [
  {
    file: 'sidecar-eu-west-paris.yaml',
    kind: 'envoy',
    params: { nodeId: 'edge-paris-1', locality: { region: 'eu-west', zone: 'eu-west-fr', subZone: 'edge-paris-1' }, xdsServers: EU_RELAYS, role: 'sidecar' },
  },
  {
    file: 'sidecar-us-east-sotw.yaml',
    kind: 'envoy',
    params: {
      nodeId: 'edge-nyc-1',
      cluster: 'edge-nyc',
      locality: { region: 'us-east', zone: 'us-east-ny', subZone: 'edge-nyc-1' },
      xdsServers: [
        { host: '10.20.0.11', port: 18000 },
        { host: '10.20.0.12', port: 18000 },
        { host: '10.0.0.10', port: 18000 },
      ],
      mode: 'sotw',
      adminPort: 9902,
      role: 'sidecar',
    },
  },
  {
    file: 'gateway-eu-west.yaml',
    kind: 'envoy',
    params: { nodeId: 'gw-eu-west', locality: { region: 'eu-west', zone: 'eu-west-fr', subZone: 'gw-eu-west' }, xdsServers: EU_RELAYS, role: 'gateway', listenerPort: 10000 },
  },
  {
    file: 'grpc-bootstrap-us-east.json',
    kind: 'grpc',
    params: {
      nodeId: 'client-nyc-1',
      locality: { region: 'us-east', zone: 'us-east-ny', subZone: 'client-nyc-1' },
      xdsServers: [
        { host: '10.20.0.11', port: 18000 },
        { host: '10.20.0.12', port: 18000 },
        { host: '10.0.0.10', port: 18000 },
      ],
    },
  },
];

export function renderExample(e: BootstrapExample): string {
  return e.kind === 'envoy' ? renderEnvoyBootstrap(e.params) : `${JSON.stringify(renderGrpcBootstrap(e.params), null, 2)}\n`;
}

export function examplesDir(): string {
  return path.join(envoyDir(), 'examples');
}

/** Rewrites envoy/examples/ from BOOTSTRAP_EXAMPLES; returns the paths written. */
export function writeExamples(dir = examplesDir()): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return BOOTSTRAP_EXAMPLES.map((e) => {
    const p = path.join(dir, e.file);
    fs.writeFileSync(p, renderExample(e));
    return p;
  });
}
