import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  buildCluster,
  buildClusterLoadAssignment,
  buildListeners,
  buildListener,
  buildRouteConfiguration,
  buildRouteConfigurations,
  circuitLimits,
  encodeResource,
  packAny,
  EGRESS_NAME,
} from '../../src/xds/resources';
import { checkEnvoyConstraints, decodeStrict } from '../helpers/envoy-validate';
import { TYPE_URL, type ResourceKind } from '../../src/xds/protos';
import type { ClientKind, EndpointAssignment, ServiceSpec } from '../../src/model/types';

const SERVICES: ServiceSpec[] = [
  { name: 'echo', protocol: 'grpc', port: 50051, totalMaxRps: 1200, endpointCount: 3 },
  { name: 'web', protocol: 'http', port: 8080, totalMaxRps: 0, endpointCount: 2 },
  { name: 'db', protocol: 'tcp', port: 5432, totalMaxRps: 0, endpointCount: 1 },
];
const KINDS: ClientKind[] = ['envoy', 'grpc'];

function ep(i: number, priority: number, weight: number, extra: Partial<EndpointAssignment> = {}): EndpointAssignment {
  return {
    nodeId: `edge-${i}`,
    address: `10.0.0.${i}`,
    port: 50051,
    locality: { region: 'eu-west', zone: `eu-west-${i % 2}`, subZone: `edge-${i}` },
    priority,
    weight,
    health: 'HEALTHY',
    sharePct: 0,
    factors: { distanceKm: 10, load: 0.2, latestLoad: 0.2, capacity: 1, network: 1, overloaded: false, raw: weight },
    ...extra,
  };
}
const ENDPOINTS = [ep(1, 0, 70), ep(2, 0, 30, { health: 'DEGRADED' }), ep(3, 1, 5, { address: 'fd00::3', health: 'DRAINING' })];

/** Everything one client kind receives, by resource kind. */
function allResources(kind: ClientKind): Array<[ResourceKind, object]> {
  const out: Array<[ResourceKind, object]> = [];
  for (const s of SERVICES) out.push(['cluster', buildCluster(s, kind)]);
  for (const s of SERVICES) out.push(['endpoint', buildClusterLoadAssignment(s.name, ENDPOINTS, { endpointStaleAfterMs: 300_000 })]);
  for (const l of buildListeners(SERVICES, kind)) out.push(['listener', l]);
  for (const r of buildRouteConfigurations(SERVICES, kind)) out.push(['route', r]);
  return out;
}

/** grpc-js-xds's own resource validators (what a proxyless client runs on every resource). */
function grpcJsDecode(kind: ResourceKind, bytes: Buffer): { name: string; error?: string } {
  const file = { cluster: 'cluster', endpoint: 'endpoint', listener: 'listener', route: 'route-config' }[kind];
  const cls = { cluster: 'ClusterResourceType', endpoint: 'EndpointResourceType', listener: 'ListenerResourceType', route: 'RouteConfigurationResourceType' }[kind];

  require('@grpc/grpc-js-xds').register(); // fills the HTTP filter registry (router)
  const mod = require(`@grpc/grpc-js-xds/build/src/xds-resource-type/${file}-resource-type`);
  const context = { server: { server_uri: 'ipv4:127.0.0.1:1', channel_creds: [], server_features: [] }, bootstrap: { certificateProviders: {} } };
  return mod[cls].get().decode(context, { type_url: TYPE_URL[kind], value: bytes });
}

for (const kind of KINDS) {
  test(`every ${kind} resource encodes, decodes strictly and meets Envoy's constraints`, () => {
    const resources = allResources(kind);
    assert.ok(resources.some(([k]) => k === 'listener') && resources.some(([k]) => k === 'route'));
    for (const [rk, msg] of resources) {
      const bytes = encodeResource(rk, msg);
      const decoded = decodeStrict(TYPE_URL[rk], bytes);
      assert.ok(Object.keys(decoded).length > 0);
      assert.deepEqual(checkEnvoyConstraints(rk, msg), [], `${kind} ${rk}`);
      assert.deepEqual(checkEnvoyConstraints(rk, bytes), [], `${kind} ${rk} (bytes)`);
    }
  });
}

test('proxyless resources pass @grpc/grpc-js-xds validation', () => {
  for (const [rk, msg] of allResources('grpc')) {
    const res = grpcJsDecode(rk, encodeResource(rk, msg));
    assert.equal(res.error, undefined, `${rk} ${res.name}: ${res.error}`);
  }
});

test('grpc-js-xds rejects what our checker rejects (hostname endpoint)', () => {
  const cla = {
    cluster_name: 'x',
    endpoints: [
      { locality: { region: 'r' }, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'host.example', port_value: 1 } } } }] },
    ],
  };
  assert.match(grpcJsDecode('endpoint', encodeResource('endpoint', cla)).error ?? '', /not a valid IPv4 or IPv6/);
  assert.ok(checkEnvoyConstraints('endpoint', cla).some((v) => v.includes('not an IP literal')));
});

test('cluster shape: EDS over ADS, locality weights, breakers, outlier detection, HTTP/2 for grpc on Envoy only', () => {
  const c = decodeStrict('envoy.config.cluster.v3.Cluster', encodeResource('cluster', buildCluster(SERVICES[0], 'envoy'))) as Record<string, any>;
  assert.equal(c.name, 'echo');
  assert.equal(c.type, 'EDS');
  assert.deepEqual(c.eds_cluster_config, { eds_config: { ads: {}, resource_api_version: 'V3' } });
  assert.deepEqual(c.common_lb_config, { locality_weighted_lb_config: {} });
  assert.equal(c.connect_timeout.seconds, '2');
  assert.equal(c.circuit_breakers.thresholds[0].max_requests.value, 600);
  assert.equal(c.outlier_detection.consecutive_5xx.value, 5);
  const opts = c.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  assert.equal(opts['@type'], 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
  assert.ok(opts.explicit_http_config.http2_protocol_options);
  assert.equal(buildCluster(SERVICES[0], 'grpc').typed_extension_protocol_options, undefined);
  assert.equal(buildCluster(SERVICES[1], 'envoy').typed_extension_protocol_options, undefined);
});

test('circuit limits follow declared capacity with floors and ceilings', () => {
  assert.deepEqual(circuitLimits({ totalMaxRps: 1200, endpointCount: 3 }), { maxRequests: 600, maxPendingRequests: 150, maxConnections: 600, maxRetries: 60 });
  assert.equal(circuitLimits({ totalMaxRps: 0, endpointCount: 2 }).maxRequests, 1024);
  assert.equal(circuitLimits({ totalMaxRps: 10, endpointCount: 1 }).maxRequests, 64);
  assert.equal(circuitLimits({ totalMaxRps: 10, endpointCount: 10 }).maxRequests, 320);
  assert.equal(circuitLimits({ totalMaxRps: 1e9, endpointCount: 10 }).maxRequests, 50_000);
  assert.equal(circuitLimits({ totalMaxRps: 10, endpointCount: 1 }).maxRetries, 7);
});

test('CLA groups by (priority, locality), weights localities, sorts regardless of input order', () => {
  const shared = { region: 'eu-west', zone: 'z', subZone: 's' };
  const eps = [ep(1, 0, 2, { locality: shared }), ep(2, 0, 3, { locality: shared }), ep(3, 1, 4)];
  const cla = buildClusterLoadAssignment('echo', eps);
  assert.equal(cla.endpoints!.length, 2);
  assert.deepEqual(cla.endpoints![0].load_balancing_weight, { value: 5 });
  assert.equal(cla.endpoints![0].lb_endpoints!.length, 2);
  assert.equal(cla.endpoints![1].priority, 1);
  assert.deepEqual(cla.policy!.overprovisioning_factor, { value: 140 });
  const a = encodeResource('endpoint', buildClusterLoadAssignment('echo', ENDPOINTS, { overprovisioningFactor: 100 }));
  const b = encodeResource('endpoint', buildClusterLoadAssignment('echo', [...ENDPOINTS].reverse(), { overprovisioningFactor: 100 }));
  assert.ok(a.equals(b));
  const d = decodeStrict('envoy.config.endpoint.v3.ClusterLoadAssignment', a) as Record<string, any>;
  assert.deepEqual(
    d.endpoints.map((e: any) => e.locality.sub_zone),
    ['edge-2', 'edge-1', 'edge-3'],
  );
  assert.equal(d.endpoints[0].lb_endpoints[0].health_status, 'DEGRADED');
  assert.equal(d.endpoints[2].priority, 1);
  assert.equal(d.endpoints[2].lb_endpoints[0].endpoint.address.socket_address.address, 'fd00::3');
  assert.equal(d.policy.overprovisioning_factor.value, 100);
});

test('CLA builder refuses input the clients would NACK', () => {
  assert.throws(() => buildClusterLoadAssignment('echo', [ep(1, 0, 1), ep(2, 2, 1)]), /priority 1 is missing/);
  assert.throws(() => buildClusterLoadAssignment('echo', [ep(1, 0, 1), ep(2, 0, 1, { address: '10.0.0.1' })]), /duplicate address:port/);
  assert.throws(() => buildClusterLoadAssignment('echo', [ep(1, 0, 1, { address: 'edge-1.local' })]), /not an IP literal/);
  assert.throws(() => buildClusterLoadAssignment('echo', [ep(1, 0, 0)]), /weight must be an integer >= 1/);
  assert.throws(() => buildClusterLoadAssignment('echo', [ep(1, 0, 1, { port: 70000 })]), /port out of range/);
  assert.throws(() => buildClusterLoadAssignment('', []), /service name is empty/);
  assert.deepEqual(checkEnvoyConstraints('endpoint', buildClusterLoadAssignment('echo', [])), []);
});

test('routes: Envoy egress vhosts per http/grpc service; gRPC one config per grpc service', () => {
  const rc = buildRouteConfiguration(EGRESS_NAME, SERVICES, 'envoy');
  assert.deepEqual(
    rc.virtual_hosts!.map((v) => v.name),
    ['echo', 'web'],
  );
  assert.deepEqual(rc.virtual_hosts![0].domains, ['echo', 'echo.mesh', 'echo:50051', 'echo.mesh:50051']);
  const r0 = rc.virtual_hosts![0].routes![0].route!;
  assert.equal(r0.cluster, 'echo');
  assert.equal(r0.retry_policy!.retry_on, '5xx,reset,connect-failure,refused-stream,unavailable');
  assert.deepEqual(r0.timeout, { seconds: 0, nanos: 0 });
  assert.ok(r0.max_stream_duration!.grpc_timeout_header_max);
  const r1 = rc.virtual_hosts![1].routes![0].route!;
  assert.equal(r1.retry_policy!.retry_on, '5xx,reset,connect-failure,refused-stream');
  assert.deepEqual(r1.timeout, { seconds: 15, nanos: 0 });
  const g = buildRouteConfigurations(SERVICES, 'grpc');
  assert.deepEqual(
    g.map((r) => r.name),
    ['echo'],
  );
  assert.deepEqual(g[0].virtual_hosts![0].domains, ['*']);
  assert.throws(() => buildRouteConfiguration('nope', SERVICES, 'grpc'), /no service named nope/);
  const clash = [SERVICES[0], { ...SERVICES[1], name: 'echo.mesh' }];
  assert.throws(() => buildRouteConfiguration(EGRESS_NAME, clash, 'envoy'), /domain echo.mesh claimed by services echo and echo.mesh/);
  assert.throws(() => buildRouteConfiguration(EGRESS_NAME, [SERVICES[0], SERVICES[0]], 'envoy'), /domain echo claimed/);
});

test('listeners: Envoy egress on 127.0.0.1:15001 with RDS; gRPC API listener per grpc service', () => {
  const l = decodeStrict('envoy.config.listener.v3.Listener', encodeResource('listener', buildListener('envoy'))) as Record<string, any>;
  assert.equal(l.name, EGRESS_NAME);
  assert.deepEqual(l.address.socket_address, { address: '127.0.0.1', port_value: 15001 });
  const hcm = l.filter_chains[0].filters[0].typed_config;
  assert.equal(hcm['@type'], 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  assert.equal(hcm.rds.route_config_name, EGRESS_NAME);
  assert.equal(hcm.http_filters.at(-1)['typed_config']['@type'], 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router');
  const custom = buildListener('envoy', undefined, { port: 16001, address: '0.0.0.0' });
  assert.equal(custom.address!.socket_address!.port_value, 16001);
  const g = buildListeners(SERVICES, 'grpc');
  assert.deepEqual(
    g.map((x) => x.name),
    ['echo'],
  );
  const api = decodeStrict('envoy.config.listener.v3.Listener', encodeResource('listener', g[0])) as Record<string, any>;
  assert.equal(api.api_listener.api_listener.rds.route_config_name, 'echo');
  assert.equal(api.address, undefined);
});

test('encoding is deterministic: same input, and different insertion order, give the same bytes', () => {
  for (const kind of KINDS) {
    for (const [rk, msg] of allResources(kind)) {
      assert.ok(encodeResource(rk, msg).equals(encodeResource(rk, msg)));
      const rebuilt = JSON.parse(JSON.stringify(msg), (_k, v) => {
        if (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data);
        if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v).reverse());
        return v;
      });
      assert.ok(encodeResource(rk, rebuilt).equals(encodeResource(rk, msg)), `${kind} ${rk}`);
    }
  }
  // map fields (Struct metadata) with keys inserted in different orders
  const meta = (keys: string[]) => ({
    name: 'm',
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {} } },
    metadata: { filter_metadata: Object.fromEntries(keys.map((k) => [k, { fields: { [k]: { string_value: k } } }])) },
  });
  assert.ok(encodeResource('cluster', meta(['a', 'b', 'c'])).equals(encodeResource('cluster', meta(['c', 'a', 'b']))));
  // explicitly set proto3 defaults encode like unset ones
  assert.ok(encodeResource('endpoint', { cluster_name: 'x', endpoints: [{ priority: 0 }] }).equals(encodeResource('endpoint', { cluster_name: 'x', endpoints: [{}] })));
  assert.deepEqual((packAny('envoy.extensions.filters.http.router.v3.Router', {}) as { value: Buffer }).value, Buffer.alloc(0));
});

test('builder objects with a misspelt field fail loudly', () => {
  assert.throws(() => encodeResource('cluster', { name: 'x', conect_timeout: { seconds: 1 } }), /has no field conect_timeout/);
});
