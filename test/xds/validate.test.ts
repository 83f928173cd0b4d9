import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as protobuf from 'protobufjs';
import {
  buildCluster,
  buildClusterLoadAssignment,
  buildEgressListener,
  buildApiListener,
  buildRouteConfiguration,
  encodeResource,
  packAny,
  EGRESS_NAME,
} from '../../src/xds/resources';
import { checkEnvoyConstraints, decodeStrict, StrictDecodeError } from '../helpers/envoy-validate';
import type { ServiceSpec } from '../../src/model/types';
import { envoyType } from '../../src/xds/protos';

const ECHO: ServiceSpec = { name: 'echo', protocol: 'grpc', port: 50051, totalMaxRps: 100, endpointCount: 2 };
const CLUSTER_TYPE = 'envoy.config.cluster.v3.Cluster';

function loc(i: number) {
  return { region: 'r', zone: 'z', sub_zone: `s${i}` };
}
function lbe(address: string, port = 8080, weight?: number) {
  return { endpoint: { address: { socket_address: { address, port_value: port } } }, ...(weight === undefined ? {} : { load_balancing_weight: { value: weight } }) };
}
function has(violations: string[], re: RegExp): boolean {
  return violations.some((v) => re.test(v));
}

test('decodeStrict rejects an unknown field injected into the bytes', () => {
  const good = encodeResource('cluster', buildCluster(ECHO, 'envoy'));
  const w = protobuf.Writer.create();
  w.uint32((999 << 3) | 0).uint32(7);
  const bad = Buffer.concat([good, w.finish()]);
  assert.throws(
    () => decodeStrict(CLUSTER_TYPE, bad),
    (e: unknown) => e instanceof StrictDecodeError && /unknown field 999/.test((e as Error).message),
  );
  assert.ok(has(checkEnvoyConstraints('cluster', bad), /unknown field 999/));
  // protobufjs itself accepts it silently
  assert.doesNotThrow(() => envoyType(CLUSTER_TYPE).decode(bad));
});

test('decodeStrict rejects unknown fields nested inside an Any payload', () => {
  const router = Buffer.from(
    protobuf.Writer.create()
      .uint32((77 << 3) | 2)
      .string('x')
      .finish(),
  );
  const listener = buildApiListener('echo');
  const hcm = decodeStrict('envoy.config.listener.v3.Listener', encodeResource('listener', listener)) as Record<string, any>;
  assert.ok(hcm.api_listener);
  const l2 = {
    name: 'echo',
    api_listener: {
      api_listener: packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
        stat_prefix: 'echo',
        rds: { config_source: { ads: {} }, route_config_name: 'echo' },
        http_filters: [{ name: 'router', typed_config: { type_url: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', value: router } }],
      }),
    },
  };
  assert.throws(() => decodeStrict('envoy.config.listener.v3.Listener', encodeResource('listener', l2)), /Router.*unknown field 77/);
});

test('decodeStrict rejects wire-type mismatches, unknown Any types, truncation', () => {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 0).uint32(5); // Cluster.name (string) sent as varint
  assert.throws(() => decodeStrict(CLUSTER_TYPE, Buffer.from(w.finish())), /wire type 0 where string needs 2/);
  const anyCluster = { ...buildCluster(ECHO, 'envoy'), typed_extension_protocol_options: { x: { type_url: 'type.googleapis.com/no.such.Type', value: Buffer.alloc(0) } } };
  assert.throws(() => decodeStrict(CLUSTER_TYPE, encodeResource('cluster', anyCluster)), /Any of unknown type type.googleapis.com\/no.such.Type/);
  const good = encodeResource('cluster', buildCluster(ECHO, 'envoy'));
  assert.throws(() => decodeStrict(CLUSTER_TYPE, good.subarray(0, good.length - 2)), StrictDecodeError);
});

test('checker catches CLA violations: priority gap, missing locality weight, duplicates, hostnames, ports, drops', () => {
  const gap = {
    cluster_name: 'x',
    endpoints: [
      { locality: loc(1), load_balancing_weight: { value: 1 }, lb_endpoints: [lbe('10.0.0.1')] },
      { locality: loc(2), priority: 2, load_balancing_weight: { value: 1 }, lb_endpoints: [lbe('10.0.0.2')] },
    ],
  };
  assert.ok(has(checkEnvoyConstraints('endpoint', gap), /priority 1 missing/));
  const noWeight = { cluster_name: 'x', endpoints: [{ locality: loc(1), lb_endpoints: [lbe('10.0.0.1')] }] };
  assert.ok(has(checkEnvoyConstraints('endpoint', noWeight), /endpoints\[0\]\.load_balancing_weight: missing/));
  const dupAddr = { cluster_name: 'x', endpoints: [{ locality: loc(1), load_balancing_weight: { value: 1 }, lb_endpoints: [lbe('10.0.0.1'), lbe('10.0.0.1')] }] };
  assert.ok(has(checkEnvoyConstraints('endpoint', dupAddr), /duplicate address 10.0.0.1:8080/));
  const dupLoc = { cluster_name: 'x', endpoints: [1, 2].map((i) => ({ locality: loc(1), load_balancing_weight: { value: 1 }, lb_endpoints: [lbe(`10.0.0.${i}`)] })) };
  assert.ok(has(checkEnvoyConstraints('endpoint', dupLoc), /duplicate locality/));
  const host = { cluster_name: 'x', endpoints: [{ locality: loc(1), load_balancing_weight: { value: 1 }, lb_endpoints: [lbe('edge-1.example')] }] };
  assert.ok(has(checkEnvoyConstraints('endpoint', host), /not an IP literal/));
  const badPort = { cluster_name: 'x', endpoints: [{ locality: loc(1), load_balancing_weight: { value: 1 }, lb_endpoints: [lbe('10.0.0.1', 70000)] }] };
  assert.ok(has(checkEnvoyConstraints('endpoint', badPort), /port/));
  const zeroW = { cluster_name: 'x', endpoints: [{ locality: loc(1), load_balancing_weight: { value: 1 }, lb_endpoints: [lbe('10.0.0.1', 80, 0)] }] };
  assert.ok(has(checkEnvoyConstraints('endpoint', zeroW), /lb_endpoints\[0\]\.load_balancing_weight/));
  const drops = { cluster_name: 'x', policy: { drop_overloads: [{ category: 'a' }, { category: 'b' }] } };
  assert.ok(has(checkEnvoyConstraints('endpoint', drops), /at most one entry/));
  assert.ok(has(checkEnvoyConstraints('endpoint', { endpoints: [] }), /cluster_name: empty/));
});

test('checker catches bad durations and missing cluster essentials', () => {
  const c = buildCluster(ECHO, 'envoy');
  assert.ok(has(checkEnvoyConstraints('cluster', { ...c, connect_timeout: { seconds: -1 } }), /connect_timeout: Duration seconds -1/));
  assert.ok(has(checkEnvoyConstraints('cluster', { ...c, connect_timeout: { seconds: 0, nanos: 1_000_000_000 } }), /nanos 1000000000/));
  assert.ok(has(checkEnvoyConstraints('cluster', { ...c, connect_timeout: { seconds: 0 } }), /connect_timeout: must be > 0/));
  const od = { ...c.outlier_detection, interval: { seconds: 1, nanos: -5 } };
  assert.ok(has(checkEnvoyConstraints('cluster', { ...c, outlier_detection: od }), /outlier_detection.interval: Duration nanos -5/));
  assert.ok(has(checkEnvoyConstraints('cluster', { ...c, common_lb_config: {} }), /locality_weighted_lb_config: missing/));
  assert.ok(has(checkEnvoyConstraints('cluster', { ...c, eds_cluster_config: {} }), /eds_config: missing/));
  assert.ok(has(checkEnvoyConstraints('cluster', { ...c, name: '' }), /Cluster.name/));
  assert.ok(has(checkEnvoyConstraints('cluster', { ...c, lb_policy: 'LEAST_REQUEST' }), /unsupported by gRPC clients/));
});

test('checker catches listener and HCM problems', () => {
  assert.ok(has(checkEnvoyConstraints('listener', { name: 'l' }), /address: missing/));
  const hcm = (filters: object[], rds = true) =>
    packAny('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
      stat_prefix: 's',
      ...(rds ? { rds: { config_source: { ads: {} }, route_config_name: 'r' } } : {}),
      http_filters: filters,
    });
  const router = { name: 'router', typed_config: packAny('envoy.extensions.filters.http.router.v3.Router', {}) };
  const api = (h: object) => ({ name: 'echo', api_listener: { api_listener: h } });
  assert.deepEqual(checkEnvoyConstraints('listener', api(hcm([router]))), []);
  assert.ok(has(checkEnvoyConstraints('listener', api(hcm([]))), /http_filters: empty/));
  assert.ok(has(checkEnvoyConstraints('listener', api(hcm([{ name: 'router' }]))), /last http filter must be the router/));
  assert.ok(has(checkEnvoyConstraints('listener', api(hcm([router, { ...router, name: 'r2' }]))), /router filter before the end/));
  assert.ok(has(checkEnvoyConstraints('listener', api(hcm([router], false))), /needs rds or route_config/));
  const egress = buildEgressListener();
  assert.deepEqual(checkEnvoyConstraints('listener', egress), []);
  assert.ok(has(checkEnvoyConstraints('listener', { ...egress, filter_chains: [] }), /filter_chains: empty/));
});

test('checker catches route configuration problems', () => {
  const rc = buildRouteConfiguration(EGRESS_NAME, [ECHO, { ...ECHO, name: 'web', protocol: 'http' }], 'envoy');
  assert.deepEqual(checkEnvoyConstraints('route', rc), []);
  const [a, b] = rc.virtual_hosts!;
  assert.ok(has(checkEnvoyConstraints('route', { ...rc, virtual_hosts: [a, { ...b, domains: ['echo'] }] }), /echo also in virtual host echo/));
  assert.ok(has(checkEnvoyConstraints('route', { ...rc, virtual_hosts: [{ ...a, domains: [] }] }), /domains: empty/));
  assert.ok(has(checkEnvoyConstraints('route', { ...rc, virtual_hosts: [{ ...a, name: '' }] }), /virtual_hosts\[0\]\.name/));
  assert.ok(has(checkEnvoyConstraints('route', { ...rc, virtual_hosts: [{ ...a, domains: ['a*b'] }] }), /wildcard in the middle/));
  const noCluster = { ...a, routes: [{ match: { prefix: '/' }, route: { cluster: '' } }] };
  assert.ok(has(checkEnvoyConstraints('route', { ...rc, virtual_hosts: [noCluster] }), /route(\.cluster: empty|: no cluster)/));
  const badTimeout = { ...a, routes: [{ match: { prefix: '/' }, route: { cluster: 'echo', timeout: { seconds: -3 } } }] };
  assert.ok(has(checkEnvoyConstraints('route', { ...rc, virtual_hosts: [badTimeout] }), /timeout: Duration seconds -3/));
});

test('checker output is empty for a CLA with several priorities and IPv6', () => {
  const eps = [0, 1, 2].map((i) => ({
    nodeId: `n${i}`,
    address: i === 2 ? '::1' : `192.168.1.${i + 1}`,
    port: 9000,
    locality: { region: 'r', zone: 'z', subZone: `n${i}` },
    priority: i,
    weight: 10 + i,
    health: 'HEALTHY' as const,
    sharePct: 100,
    factors: { distanceKm: null, load: 0, latestLoad: 0, capacity: 1, network: 1, overloaded: false, raw: 1 },
  }));
  assert.deepEqual(checkEnvoyConstraints('endpoint', buildClusterLoadAssignment('svc', eps, { endpointStaleAfterMs: 1500 })), []);
});
