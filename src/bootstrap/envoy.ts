/**
 * Envoy bootstraps rendered from the templates committed in envoy/
 * (envoy/sidecar.template.yaml, envoy/gateway.template.yaml). Every scalar of
 * the form "{{NAME}}" is replaced by a YAML node (strings stay strings,
 * numbers become numbers, XDS_ENDPOINTS becomes a list), through the yaml
 * Document API so comments in the templates survive into the output.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDocument, visit, isScalar, isMap, isSeq, type Document } from 'yaml';
import { certDirProblem, normalizeCertDir, xdsClusterTls, DEFAULT_CERT_DIR, type EnvoyXdsTls } from './envoy-tls';

export interface XdsServerAddress {
  host: string;
  port: number;
}

export interface BootstrapLocality {
  region: string;
  zone: string;
  subZone: string;
}

export type EnvoyRole = 'sidecar' | 'gateway';
export type XdsMode = 'delta' | 'sotw';

export interface EnvoyBootstrapParams {
  nodeId: string;
  /** node.cluster (default 'edge-sidecar' / 'edge-gateway'). */
  cluster?: string;
  locality: BootstrapLocality;
  /** xDS servers in failover order: regional relays nearest first, the global tier last. One priority each. */
  xdsServers: XdsServerAddress[];
  /** 'delta' -> DELTA_GRPC (default), 'sotw' -> GRPC. */
  mode?: XdsMode;
  /** Admin port on 127.0.0.1 (default 9901). */
  adminPort?: number;
  role: EnvoyRole;
  /** Listener port the control plane should use for this proxy (default 15001 sidecar egress, 10000 gateway ingress); sent as node metadata. */
  listenerPort?: number;
  /** Secure mode: mTLS to the xDS servers with the node's certificate files (envoy-tls.ts). Absent: plaintext, as with --insecure. */
  tls?: EnvoyXdsTls | null;
}

export const DEFAULT_ADMIN_PORT = 9901;
export const DEFAULT_LISTENER_PORT: Record<EnvoyRole, number> = { sidecar: 15001, gateway: 10000 };
export const DEFAULT_NODE_CLUSTER: Record<EnvoyRole, string> = { sidecar: 'edge-sidecar', gateway: 'edge-gateway' };
/** Envoy allows priorities 0..128. */
export const MAX_XDS_SERVERS = 129;

/** Finds the repository's envoy/ folder (works from src/ and from dist/src/). */
export function envoyDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'envoy');
    if (fs.existsSync(path.join(candidate, 'sidecar.template.yaml'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`envoy/ templates not found above ${__dirname}`);
}

export function templatePath(role: EnvoyRole): string {
  return path.join(envoyDir(), `${role}.template.yaml`);
}

function checkPort(what: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${what}: port ${port} out of range 1..65535`);
}

function checkParams(p: EnvoyBootstrapParams): void {
  if (!p.nodeId) throw new Error('nodeId: required');
  if (p.role !== 'sidecar' && p.role !== 'gateway') throw new Error(`role: must be sidecar or gateway, got ${String(p.role)}`);
  if (p.mode !== undefined && p.mode !== 'delta' && p.mode !== 'sotw') throw new Error(`mode: must be delta or sotw, got ${String(p.mode)}`);
  for (const k of ['region', 'zone', 'subZone'] as const) {
    if (typeof p.locality?.[k] !== 'string') throw new Error(`locality.${k}: must be a string`);
  }
  if (!p.xdsServers?.length) throw new Error('xdsServers: at least one xDS server is required');
  if (p.xdsServers.length > MAX_XDS_SERVERS) throw new Error(`xdsServers: at most ${MAX_XDS_SERVERS} (Envoy priorities go up to 128)`);
  p.xdsServers.forEach((s, i) => {
    if (!s.host || /\s/.test(s.host)) throw new Error(`xdsServers[${i}].host: must be a non-empty host name or IP`);
    checkPort(`xdsServers[${i}].port`, s.port);
  });
  checkPort('adminPort', p.adminPort ?? DEFAULT_ADMIN_PORT);
  checkPort('listenerPort', p.listenerPort ?? DEFAULT_LISTENER_PORT[p.role]);
  if (p.tls) {
    const problem = certDirProblem(p.tls.certDir ?? DEFAULT_CERT_DIR);
    if (problem !== null) throw new Error(`tls.certDir: ${problem}`);
  }
}

function placeholderValues(p: EnvoyBootstrapParams): Record<string, unknown> {
  const tls = p.tls ? xdsClusterTls(p.tls, p.xdsServers) : null;
  return {
    NODE_ID: p.nodeId,
    CLUSTER: p.cluster ?? DEFAULT_NODE_CLUSTER[p.role],
    REGION: p.locality.region,
    ZONE: p.locality.zone,
    SUB_ZONE: p.locality.subZone,
    LISTENER_PORT: p.listenerPort ?? DEFAULT_LISTENER_PORT[p.role],
    ADMIN_PORT: p.adminPort ?? DEFAULT_ADMIN_PORT,
    API_TYPE: (p.mode ?? 'delta') === 'delta' ? 'DELTA_GRPC' : 'GRPC',
    // One priority per server, in the order given (nearest relay = priority 0).
    XDS_ENDPOINTS: p.xdsServers.map((s, i) => {
      const metadata = tls?.endpointMetadata(i);
      const endpoint = { address: { socket_address: { address: s.host, port_value: s.port } } };
      return { priority: i, lb_endpoints: [metadata ? { endpoint, metadata } : { endpoint }] };
    }),
  };
}

/** Fills a template text; throws on an unknown or unused placeholder. */
export function fillTemplate(templateText: string, values: Record<string, unknown>, source = 'template'): string {
  return toYaml(fillTemplateDocument(templateText, values, source));
}

function toYaml(doc: Document): string {
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}

function fillTemplateDocument(templateText: string, values: Record<string, unknown>, source: string): Document {
  const doc = parseDocument(templateText, { uniqueKeys: true });
  if (doc.errors.length) throw new Error(`${source}: ${doc.errors[0].message}`);
  const used = new Set<string>();
  // visit() goes on into a node it was handed as a replacement: filled values are data, not template.
  const filled = new WeakSet<object>();
  visit(doc, {
    Scalar(_key, node) {
      if (filled.has(node) || !isScalar(node) || typeof node.value !== 'string') return undefined;
      const m = /^\{\{([A-Z_]+)\}\}$/.exec(node.value);
      if (!m) {
        if (node.value.includes('{{')) throw new Error(`${source}: malformed placeholder ${node.value}`);
        return undefined;
      }
      if (!Object.hasOwn(values, m[1])) throw new Error(`${source}: unknown placeholder {{${m[1]}}}`);
      used.add(m[1]);
      const created = doc.createNode(values[m[1]]);
      if (isScalar(created) && typeof created.value === 'string') created.type = 'QUOTE_DOUBLE';
      filled.add(created);
      visit(created, { Scalar: (_k, n) => void filled.add(n) });
      return created;
    },
  });
  for (const k of Object.keys(values)) if (!used.has(k)) throw new Error(`${source}: placeholder {{${k}}} not in template`);
  return doc;
}

/** Secure mode: the xds_cluster of a filled template gets its TLS transport socket (and one per server when there are several). */
function addXdsClusterTls(doc: Document, p: EnvoyBootstrapParams, source: string): void {
  const clusters = doc.getIn(['static_resources', 'clusters']);
  const xds = isSeq(clusters) ? clusters.items.find((c) => isMap(c) && c.get('name') === 'xds_cluster') : undefined;
  if (!isMap(xds)) throw new Error(`${source}: no static cluster named xds_cluster`);
  const tls = xdsClusterTls(p.tls!, p.xdsServers);
  const certDir = normalizeCertDir(p.tls!.certDir ?? DEFAULT_CERT_DIR, 'tls.certDir');
  const socket = doc.createPair('transport_socket', tls.transportSocket);
  (socket.key as { commentBefore?: string }).commentBefore =
    ` mTLS to the xDS servers: this node's certificate and the deployment CA from ${certDir} (edge-xds enroll --out),\n` +
    ' read through filesystem SDS so a renewed certificate is picked up without a restart or a dropped stream.';
  xds.items.push(socket);
  if (tls.socketMatches.length > 0) {
    const matches = doc.createPair('transport_socket_matches', tls.socketMatches);
    (matches.key as { commentBefore?: string }).commentBefore = ' One TLS context per xDS server (its SNI and SAN), selected by the metadata of its endpoint above.';
    xds.items.push(matches);
  }
}

/** The Envoy bootstrap YAML for a sidecar or gateway, from envoy/<role>.template.yaml. */
export function renderEnvoyBootstrap(params: EnvoyBootstrapParams): string {
  checkParams(params);
  const file = templatePath(params.role);
  const doc = fillTemplateDocument(fs.readFileSync(file, 'utf8'), placeholderValues(params), file);
  if (params.tls) addXdsClusterTls(doc, params, file);
  return `# Generated by edge-xds from envoy/${params.role}.template.yaml. Do not edit: regenerate.\n${toYaml(doc)}`;
}
