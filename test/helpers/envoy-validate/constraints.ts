/**
 * The constraints Envoy and @grpc/grpc-js-xds enforce on the four resource
 * kinds, checked on what actually goes on the wire: a builder object is
 * encoded first, then decoded strictly. Returns violations (empty = ok).
 */
import { isIP } from 'node:net';
import * as protobuf from 'protobufjs';
import { envoyRoot, type ResourceKind } from '../../../src/xds/protos';
import { encodeResource, RESOURCE_TYPE_NAME } from '../../../src/xds/resources/encode';
import { resolveTypeUrl, walk } from '../../../src/xds/strict-decode';
import { durationProblem, durationSeconds, pgvViolations } from './pgv';

type O = Record<string, any>;

const PLAIN: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true };
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
const UINT32_MAX = 0xffffffff;

function typeNameOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

/** Decodes an Any's payload to a plain object with defaults, or undefined if its type is unknown. */
function unpack(any: O | null | undefined): { type: string; msg: O } | undefined {
  if (!any || !any.type_url) return undefined;
  const t = resolveTypeUrl(any.type_url);
  if (!t) return undefined;
  return { type: typeNameOf(any.type_url), msg: t.toObject(t.decode(any.value ?? new Uint8Array(0)), PLAIN) };
}

function checkDuration(d: O | null | undefined, path: string, out: string[], positive = false): void {
  if (!d) {
    out.push(`${path}: missing`);
    return;
  }
  const p = durationProblem(d);
  if (p) out.push(`${path}: ${p}`);
  else if (positive && durationSeconds(d) <= 0) out.push(`${path}: must be > 0`);
}

function hasConfigSource(cs: O | null | undefined): boolean {
  return !!cs && !!(cs.ads || cs.self || cs.api_config_source || cs.path || cs.path_config_source);
}

function checkCluster(c: O, out: string[]): void {
  if (!c.name) out.push('Cluster.name: empty');
  if (c.type === 'EDS' || !c.cluster_discovery_type) {
    if (c.type !== 'EDS') out.push('Cluster.type: not set');
    if (!hasConfigSource(c.eds_cluster_config?.eds_config)) out.push('Cluster.eds_cluster_config.eds_config: missing (EDS needs a config source)');
  }
  checkDuration(c.connect_timeout, 'Cluster.connect_timeout', out, true);
  if (!c.common_lb_config?.locality_weighted_lb_config) out.push('Cluster.common_lb_config.locality_weighted_lb_config: missing (locality weights would be ignored)');
  if (!c.load_balancing_policy && !['ROUND_ROBIN', 'RING_HASH'].includes(c.lb_policy)) out.push(`Cluster.lb_policy: ${c.lb_policy} unsupported by gRPC clients`);
}

function checkCla(cla: O, out: string[]): void {
  if (!cla.cluster_name) out.push('ClusterLoadAssignment.cluster_name: empty');
  const totals = new Map<number, number>();
  const seenLoc = new Set<string>();
  const seenAddr = new Set<string>();
  (cla.endpoints as O[]).forEach((le, i) => {
    const p = `ClusterLoadAssignment.endpoints[${i}]`;
    const prio = Number(le.priority);
    const w = le.load_balancing_weight?.value;
    if (!le.load_balancing_weight || !(w >= 1)) out.push(`${p}.load_balancing_weight: missing or < 1 (the locality would get no traffic)`);
    totals.set(prio, (totals.get(prio) ?? 0) + (w ?? 0));
    const loc = le.locality ?? {};
    const lk = JSON.stringify([prio, loc.region, loc.zone, loc.sub_zone]);
    if (seenLoc.has(lk)) out.push(`${p}.locality: duplicate locality ${JSON.stringify(loc)} in priority ${prio}`);
    seenLoc.add(lk);
    (le.lb_endpoints as O[]).forEach((lb, j) => {
      const q = `${p}.lb_endpoints[${j}]`;
      if (lb.load_balancing_weight && !(lb.load_balancing_weight.value >= 1)) out.push(`${q}.load_balancing_weight: must be >= 1`);
      const sa = lb.endpoint?.address?.socket_address;
      if (!sa) {
        out.push(`${q}.endpoint.address.socket_address: missing`);
        return;
      }
      if (isIP(sa.address) === 0) out.push(`${q}: address ${JSON.stringify(sa.address)} is not an IP literal`);
      if (sa.port_specifier !== 'port_value' || !(sa.port_value >= 1 && sa.port_value <= 65535)) out.push(`${q}: port must be port_value in 1..65535`);
      const ak = `${sa.address}|${sa.port_value}`;
      if (seenAddr.has(ak)) out.push(`${q}: duplicate address ${sa.address}:${sa.port_value}`);
      seenAddr.add(ak);
    });
  });
  const max = totals.size ? Math.max(...totals.keys()) : -1;
  for (let p = 0; p <= max; p++) if (!totals.has(p)) out.push(`ClusterLoadAssignment.endpoints: priority ${p} missing (priorities must be contiguous from 0)`);
  for (const [p, t] of totals) if (t > UINT32_MAX) out.push(`ClusterLoadAssignment: priority ${p} total weight exceeds uint32`);
  const drops = (cla.policy?.drop_overloads ?? []) as O[];
  if (drops.length > 1) out.push('ClusterLoadAssignment.policy.drop_overloads: Envoy accepts at most one entry');
}

function checkHcm(h: O, path: string, out: string[]): void {
  if (h.route_specifier === 'rds') {
    if (!hasConfigSource(h.rds?.config_source)) out.push(`${path}.rds.config_source: missing`);
    if (!h.rds?.route_config_name) out.push(`${path}.rds.route_config_name: empty`);
  } else if (h.route_specifier !== 'route_config') out.push(`${path}: needs rds or route_config`);
  const filters = (h.http_filters ?? []) as O[];
  if (filters.length === 0) out.push(`${path}.http_filters: empty (the router filter must be last)`);
  const names = new Set<string>();
  filters.forEach((f, i) => {
    const fp = `${path}.http_filters[${i}]`;
    if (!f.name) out.push(`${fp}.name: empty`);
    if (names.has(f.name)) out.push(`${fp}.name: duplicate ${f.name}`);
    names.add(f.name);
    const isRouter = f.typed_config && typeNameOf(f.typed_config.type_url) === ROUTER;
    if (!f.typed_config) out.push(`${fp}.typed_config: missing`);
    if (i === filters.length - 1 && !isRouter) out.push(`${fp}: last http filter must be the router with typed_config set`);
    if (i < filters.length - 1 && isRouter) out.push(`${fp}: router filter before the end of the list`);
  });
}

function checkListener(l: O, out: string[]): void {
  if (!l.name) out.push('Listener.name: empty');
  if (l.api_listener) {
    const inner = unpack(l.api_listener.api_listener);
    if (!inner || inner.type !== HCM) out.push('Listener.api_listener.api_listener: must hold an HttpConnectionManager');
    else checkHcm(inner.msg, 'Listener.api_listener<HCM>', out);
    return;
  }
  if (!l.address) out.push('Listener.address: missing (needs address + filter_chains, or api_listener)');
  const chains = (l.filter_chains ?? []) as O[];
  if (chains.length === 0) out.push('Listener.filter_chains: empty');
  chains.forEach((fc, i) =>
    ((fc.filters ?? []) as O[]).forEach((f, j) => {
      const fp = `Listener.filter_chains[${i}].filters[${j}]`;
      if (!f.name) out.push(`${fp}.name: empty`);
      const inner = unpack(f.typed_config);
      if (!inner) out.push(`${fp}.typed_config: missing`);
      else if (inner.type === HCM) checkHcm(inner.msg, `${fp}<HCM>`, out);
    }),
  );
}

function checkDomain(d: string, path: string, out: string[]): void {
  const first = d.indexOf('*');
  if (!d) out.push(`${path}: empty domain`);
  else if (first !== d.lastIndexOf('*')) out.push(`${path}: ${d} has more than one wildcard`);
  else if (first > 0 && first !== d.length - 1) out.push(`${path}: ${d} has a wildcard in the middle`);
}

function checkRoute(rc: O, out: string[]): void {
  if (!rc.name) out.push('RouteConfiguration.name: empty');
  const domains = new Map<string, string>();
  const vnames = new Set<string>();
  (rc.virtual_hosts as O[]).forEach((vh, i) => {
    const p = `RouteConfiguration.virtual_hosts[${i}]`;
    if (!vh.name) out.push(`${p}.name: empty`);
    if (vnames.has(vh.name)) out.push(`${p}.name: duplicate ${vh.name}`);
    vnames.add(vh.name);
    if (vh.domains.length === 0) out.push(`${p}.domains: empty`);
    for (const d of vh.domains as string[]) {
      checkDomain(d, `${p}.domains`, out);
      const prev = domains.get(d.toLowerCase());
      if (prev !== undefined) out.push(`${p}.domains: ${d} also in virtual host ${prev}`);
      domains.set(d.toLowerCase(), vh.name);
    }
    (vh.routes as O[]).forEach((r, j) => {
      const q = `${p}.routes[${j}]`;
      if (!r.match || !r.match.path_specifier) out.push(`${q}.match: no path specifier`);
      if (r.action !== 'route') return;
      const ra = r.route;
      if (ra.cluster_specifier === 'cluster' && !ra.cluster) out.push(`${q}.route.cluster: empty`);
      else if (!ra.cluster_specifier) out.push(`${q}.route: no cluster`);
      const rp = ra.retry_policy;
      if (rp?.num_retries && rp.num_retries.value < 1) out.push(`${q}.route.retry_policy.num_retries: must be >= 1`);
    });
  });
}

const CHECKS: Record<ResourceKind, (m: O, out: string[]) => void> = {
  cluster: checkCluster,
  endpoint: checkCla,
  listener: checkListener,
  route: checkRoute,
};

/**
 * Violations of Envoy's (and grpc-js-xds's) rules in a resource, given as a
 * builder object or as its encoded bytes. Includes strict-decoding failures
 * (unknown fields, unknown Any types), every protoc-gen-validate rule in the
 * protos, and invalid Durations anywhere.
 */
export function checkEnvoyConstraints(kind: ResourceKind, message: object | Uint8Array): string[] {
  const typeName = RESOURCE_TYPE_NAME[kind];
  const type = envoyRoot().lookupType(typeName);
  let bytes: Uint8Array;
  try {
    bytes = message instanceof Uint8Array ? message : encodeResource(kind, message);
    walk(type, bytes);
  } catch (e) {
    return [(e as Error).message];
  }
  const decoded = type.decode(bytes);
  const out: string[] = [];
  CHECKS[kind](type.toObject(decoded, PLAIN), out);
  pgvViolations(type, decoded as unknown as O, type.name, out);
  return [...new Set(out)];
}
