/**
 * Strict check of Envoy bootstraps: YAML/JSON -> envoy.config.bootstrap.v3.Bootstrap
 * with proto3 JSON rules (no unknown field, no wrong type), then the
 * protoc-gen-validate rules of Envoy's protos and the cross-field rules
 * Envoy applies at startup for what our bootstraps use.
 */
import { isIP } from 'node:net';
import * as protobuf from 'protobufjs';
import { parse as parseYaml } from 'yaml';
import { envoyRoot } from '../../../src/xds/protos';
import type { Bootstrap } from '../../../src/xds/generated/envoy/config/bootstrap/v3/Bootstrap';
import { StrictJson } from './json';
import { pgvViolations } from './pgv';

type O = Record<string, any>;

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';
const PLAIN: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true };

export class BootstrapValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid Envoy bootstrap:\n  ${problems.join('\n  ')}`);
    this.name = 'BootstrapValidationError';
  }
}

function checkConfigSource(cs: O | null, path: string, hasAds: boolean, out: string[]): void {
  if (!cs) return;
  if (!cs.config_source_specifier) out.push(`${path}: no config source (ads, api_config_source, path...)`);
  if (cs.config_source_specifier === 'ads' && !hasAds) out.push(`${path}.ads: used but dynamic_resources.ads_config is not set`);
  if (cs.resource_api_version !== 'V3') out.push(`${path}.resource_api_version: must be V3`);
}

function checkApiConfigSource(a: O, path: string, clusters: Set<string>, out: string[]): void {
  if (a.api_type === 'AGGREGATED_GRPC' || a.api_type === 'AGGREGATED_DELTA_GRPC') out.push(`${path}.api_type: ${a.api_type} is for config sources, not ads_config`);
  const grpc = a.api_type === 'GRPC' || a.api_type === 'DELTA_GRPC';
  if (!grpc && a.api_type !== 'REST') out.push(`${path}.api_type: ${a.api_type} not usable`);
  if (a.transport_api_version !== 'V3') out.push(`${path}.transport_api_version: must be V3`);
  const services = (a.grpc_services ?? []) as O[];
  if (grpc && services.length === 0) out.push(`${path}.grpc_services: empty (${a.api_type} needs a gRPC service)`);
  services.forEach((g, i) => {
    const name = g.envoy_grpc?.cluster_name;
    if (g.target_specifier === 'envoy_grpc' && !clusters.has(name))
      out.push(`${path}.grpc_services[${i}].envoy_grpc.cluster_name: ${JSON.stringify(name)} is not a static cluster`);
  });
}

function checkStaticCluster(c: O, path: string, out: string[]): void {
  const t = c.cluster_discovery_type === 'type' ? c.type : undefined;
  if (!c.cluster_discovery_type) out.push(`${path}: needs type (or cluster_type)`);
  if (t === 'STATIC' || t === 'STRICT_DNS' || t === 'LOGICAL_DNS') {
    const eps = (c.load_assignment?.endpoints ?? []) as O[];
    const n = eps.reduce((s, e) => s + (e.lb_endpoints?.length ?? 0), 0);
    if (!c.load_assignment) out.push(`${path}.load_assignment: required for type ${t}`);
    else if (n === 0) out.push(`${path}.load_assignment: has no endpoints`);
    eps.forEach((le, i) => {
      if (Number(le.priority) > 0 && !eps.some((x) => Number(x.priority) === Number(le.priority) - 1)) {
        out.push(`${path}.load_assignment.endpoints[${i}].priority: ${le.priority} without ${Number(le.priority) - 1}`);
      }
      (le.lb_endpoints as O[]).forEach((lb, j) => {
        const sa = lb.endpoint?.address?.socket_address;
        if (t === 'STATIC' && sa && isIP(sa.address) === 0)
          out.push(`${path}.load_assignment.endpoints[${i}].lb_endpoints[${j}]: STATIC cluster needs an IP literal, got ${sa.address}`);
      });
    });
    if (t === 'LOGICAL_DNS' && n > 1) out.push(`${path}.load_assignment: LOGICAL_DNS takes exactly one endpoint`);
  }
  if (t === 'EDS' && !c.eds_cluster_config?.eds_config) out.push(`${path}.eds_cluster_config.eds_config: required for type EDS`);
  const hcs = (c.health_checks ?? []) as O[];
  hcs.forEach((h, i) => {
    if (h.health_checker === 'grpc_health_check') {
      const http2 = c.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'] || c.http2_protocol_options;
      if (!http2) out.push(`${path}.health_checks[${i}]: gRPC health checks need an HTTP/2 cluster`);
    }
  });
}

function semantic(b: O, out: string[]): void {
  if (!b.node) out.push('Bootstrap.node: required');
  else if (!b.node.id) out.push('Bootstrap.node.id: required');
  const clusters = new Set<string>();
  ((b.static_resources?.clusters ?? []) as O[]).forEach((c, i) => {
    const p = `Bootstrap.static_resources.clusters[${i}]`;
    if (clusters.has(c.name)) out.push(`${p}.name: duplicate ${c.name}`);
    clusters.add(c.name);
    checkStaticCluster(c, p, out);
  });
  const listeners = new Set<string>();
  ((b.static_resources?.listeners ?? []) as O[]).forEach((l, i) => {
    if (listeners.has(l.name)) out.push(`Bootstrap.static_resources.listeners[${i}].name: duplicate ${l.name}`);
    listeners.add(l.name);
  });
  const d = b.dynamic_resources;
  if (d) {
    if (d.ads_config) checkApiConfigSource(d.ads_config, 'Bootstrap.dynamic_resources.ads_config', clusters, out);
    checkConfigSource(d.lds_config, 'Bootstrap.dynamic_resources.lds_config', !!d.ads_config, out);
    checkConfigSource(d.cds_config, 'Bootstrap.dynamic_resources.cds_config', !!d.ads_config, out);
  }
  const admin = b.admin;
  if (admin?.address && !admin.address.socket_address && !admin.address.pipe) out.push('Bootstrap.admin.address: needs socket_address or pipe');
}

/**
 * Maps a parsed YAML/JSON bootstrap onto Bootstrap strictly. Returns the
 * bootstrap as a protobufjs plain object (original field names); throws
 * BootstrapValidationError listing every problem found.
 */
export function bootstrapFromJsonStrict(obj: unknown): Bootstrap {
  const type = envoyRoot().lookupType(BOOTSTRAP_TYPE);
  const conv = new StrictJson();
  const msg = conv.message(type, obj, 'Bootstrap');
  if (conv.errors.length > 0 || !msg) throw new BootstrapValidationError(conv.errors.length ? conv.errors : ['Bootstrap: not an object']);
  const bytes = type.encode(type.fromObject(msg)).finish();
  const decoded = type.decode(bytes);
  const problems = pgvViolations(type, decoded as unknown as O, 'Bootstrap');
  const plain = type.toObject(decoded, PLAIN);
  semantic(plain, problems);
  if (problems.length > 0) throw new BootstrapValidationError([...new Set(problems)]);
  return type.toObject(decoded, { longs: String, enums: String, defaults: false, json: true }) as Bootstrap;
}

/** Every problem of a YAML (or JSON) Envoy bootstrap; empty when Envoy would accept it. */
export function checkBootstrapYaml(yamlText: string): string[] {
  let obj: unknown;
  try {
    obj = parseYaml(yamlText, { uniqueKeys: true, strict: true });
  } catch (e) {
    return [`YAML: ${(e as Error).message}`];
  }
  try {
    bootstrapFromJsonStrict(obj);
    return [];
  } catch (e) {
    if (e instanceof BootstrapValidationError) return e.problems;
    return [(e as Error).message];
  }
}
