import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import {
  BOOTSTRAP_EXAMPLES,
  examplesDir,
  envoyDir,
  fillTemplate,
  grpcServerUri,
  renderEnvoyBootstrap,
  renderExample,
  renderGrpcBootstrap,
  type EnvoyBootstrapParams,
} from '../../src/bootstrap';
import { bootstrapFromJsonStrict, BootstrapValidationError, checkBootstrapYaml } from '../helpers/envoy-validate';

const BASE: EnvoyBootstrapParams = {
  nodeId: 'edge-lyon-2',
  locality: { region: 'eu-west', zone: 'eu-west-fr', subZone: 'edge-lyon-2' },
  xdsServers: [
    { host: '10.1.0.2', port: 18000 },
    { host: 'relay-b', port: 18001 },
    { host: 'global', port: 18000 },
  ],
  role: 'sidecar',
};

test('committed envoy/examples are exactly what the generator produces', () => {
  const committed = fs.readdirSync(examplesDir()).sort();
  assert.deepEqual(committed, BOOTSTRAP_EXAMPLES.map((e) => e.file).sort(), 'every example file has documented inputs');
  for (const e of BOOTSTRAP_EXAMPLES) {
    assert.equal(fs.readFileSync(path.join(examplesDir(), e.file), 'utf8'), renderExample(e), `${e.file} is stale: regenerate (see src/bootstrap/examples.ts)`);
  }
});

test('every committed Envoy bootstrap passes the strict check', () => {
  const files = fs.readdirSync(examplesDir()).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 3);
  for (const f of files) assert.deepEqual(checkBootstrapYaml(fs.readFileSync(path.join(examplesDir(), f), 'utf8')), [], f);
});

test('generated bootstraps pass for both roles and both modes, and carry the inputs', () => {
  for (const role of ['sidecar', 'gateway'] as const) {
    for (const mode of ['delta', 'sotw'] as const) {
      const yaml = renderEnvoyBootstrap({ ...BASE, role, mode, adminPort: 19000, cluster: 'c1', listenerPort: 15555 });
      assert.deepEqual(checkBootstrapYaml(yaml), [], `${role}/${mode}`);
      const b = parse(yaml);
      assert.equal(b.node.id, 'edge-lyon-2');
      assert.equal(b.node.cluster, 'c1');
      assert.deepEqual(b.node.locality, { region: 'eu-west', zone: 'eu-west-fr', sub_zone: 'edge-lyon-2' });
      assert.equal(b.node.metadata.edge_xds_role, role);
      assert.equal(b.node.metadata.edge_xds_listener_port, 15555);
      assert.equal(b.dynamic_resources.ads_config.api_type, mode === 'delta' ? 'DELTA_GRPC' : 'GRPC');
      assert.equal(b.dynamic_resources.ads_config.transport_api_version, 'V3');
      assert.equal(b.dynamic_resources.ads_config.set_node_on_first_message_only, true);
      assert.deepEqual(b.admin.address.socket_address, { address: '127.0.0.1', port_value: 19000 });
      const xds = b.static_resources.clusters.find((c: { name: string }) => c.name === 'xds_cluster');
      assert.ok(xds.health_checks[0].grpc_health_check);
      assert.ok(xds.upstream_connection_options.tcp_keepalive);
      const eps = xds.load_assignment.endpoints;
      assert.deepEqual(
        eps.map((e: { priority: number }) => e.priority),
        [0, 1, 2],
      );
      assert.deepEqual(
        eps.map((e: any) => `${e.lb_endpoints[0].endpoint.address.socket_address.address}:${e.lb_endpoints[0].endpoint.address.socket_address.port_value}`),
        ['10.1.0.2:18000', 'relay-b:18001', 'global:18000'],
      );
    }
  }
  // strings that look like other YAML types stay strings
  const odd = renderEnvoyBootstrap({ ...BASE, nodeId: '123', locality: { region: 'true', zone: 'null', subZone: 'a: b # c' } });
  assert.deepEqual(checkBootstrapYaml(odd), []);
  const p = parse(odd);
  assert.equal(p.node.id, '123');
  assert.deepEqual(p.node.locality, { region: 'true', zone: 'null', sub_zone: 'a: b # c' });
  assert.equal(parse(renderEnvoyBootstrap({ ...BASE, role: 'gateway' })).node.metadata.edge_xds_listener_port, 10000);
});

test('renderEnvoyBootstrap refuses bad parameters', () => {
  assert.throws(() => renderEnvoyBootstrap({ ...BASE, xdsServers: [] }), /at least one xDS server/);
  assert.throws(() => renderEnvoyBootstrap({ ...BASE, nodeId: '' }), /nodeId/);
  assert.throws(() => renderEnvoyBootstrap({ ...BASE, adminPort: 0 }), /adminPort/);
  assert.throws(() => renderEnvoyBootstrap({ ...BASE, xdsServers: [{ host: 'a', port: 70000 }] }), /xdsServers\[0\]\.port/);
  assert.throws(() => renderEnvoyBootstrap({ ...BASE, mode: 'rest' as never }), /mode/);
  assert.throws(() => fillTemplate('a: "{{X}}"\n', {}), /unknown placeholder/);
  assert.throws(() => fillTemplate('a: 1\n', { X: 1 }), /not in template/);
});

test('templates use only placeholders the generator fills', () => {
  for (const role of ['sidecar', 'gateway']) {
    const text = fs.readFileSync(path.join(envoyDir(), `${role}.template.yaml`), 'utf8');
    const names = [...text.matchAll(/\{\{([A-Z_]+)\}\}/g)].map((m) => m[1]).filter((n) => n !== 'NAME');
    assert.deepEqual([...new Set(names)].sort(), ['ADMIN_PORT', 'API_TYPE', 'CLUSTER', 'LISTENER_PORT', 'NODE_ID', 'REGION', 'SUB_ZONE', 'XDS_ENDPOINTS', 'ZONE']);
  }
});

test('strict bootstrap check: unknown field, wrong type, missing required, bad references', () => {
  const good = renderEnvoyBootstrap(BASE);
  const obj = () => parse(good);
  const problems = (o: unknown) => {
    try {
      bootstrapFromJsonStrict(o);
      return [];
    } catch (e) {
      assert.ok(e instanceof BootstrapValidationError);
      return e.problems;
    }
  };
  const unknown = obj();
  unknown.node.clustr = 'x';
  assert.match(problems(unknown).join('\n'), /Bootstrap\.node\.clustr: unknown field/);
  const unknownNested = obj();
  unknownNested.static_resources.clusters[0].health_checks[0].grpc_health_check.servce_name = 'x';
  assert.match(problems(unknownNested).join('\n'), /grpc_health_check\.servce_name: unknown field/);
  const wrongType = obj();
  wrongType.admin.address.socket_address.port_value = 'nine';
  assert.match(problems(wrongType).join('\n'), /port_value: uint32 expects a number/);
  const badDuration = obj();
  badDuration.static_resources.clusters[0].connect_timeout = 5;
  assert.match(problems(badDuration).join('\n'), /connect_timeout: Duration expects a string/);
  const badEnum = obj();
  badEnum.dynamic_resources.ads_config.api_type = 'DELTA';
  assert.match(problems(badEnum).join('\n'), /unknown ApiType value "DELTA"/);
  const missing = obj();
  delete missing.static_resources.clusters[0].health_checks[0].timeout;
  assert.match(problems(missing).join('\n'), /health_checks\[0\]\.timeout: required/);
  const noChecker = obj();
  delete noChecker.static_resources.clusters[0].health_checks[0].grpc_health_check;
  assert.match(problems(noChecker).join('\n'), /one of health_checker is required/);
  const noId = obj();
  delete noId.node.id;
  assert.match(problems(noId).join('\n'), /Bootstrap\.node\.id: required/);
  const noName = obj();
  delete noName.static_resources.clusters[0].name;
  assert.match(problems(noName).join('\n'), /clusters\[0\]\.name: must not be empty/);
  const badRef = obj();
  badRef.dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name = 'xds';
  assert.match(problems(badRef).join('\n'), /"xds" is not a static cluster/);
  const noServices = obj();
  noServices.dynamic_resources.ads_config.grpc_services = [];
  assert.match(problems(noServices).join('\n'), /grpc_services: empty/);
  const noAssignment = obj();
  delete noAssignment.static_resources.clusters[0].load_assignment;
  assert.match(problems(noAssignment).join('\n'), /load_assignment: required for type STRICT_DNS/);
  const twoOneof = obj();
  twoOneof.static_resources.clusters[0].health_checks[0].tcp_health_check = {};
  assert.match(problems(twoOneof).join('\n'), /oneof health_checker already set/);
  const badAny = obj();
  badAny.static_resources.clusters[0].typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']['@type'] = 'type.googleapis.com/no.Such';
  assert.match(problems(badAny).join('\n'), /Any of unknown type/);
  // camelCase names are accepted (proto3 JSON)
  const camel = obj();
  camel.dynamicResources = camel.dynamic_resources;
  delete camel.dynamic_resources;
  camel.dynamicResources.adsConfig = camel.dynamicResources.ads_config;
  delete camel.dynamicResources.ads_config;
  assert.deepEqual(problems(camel), []);
  const both = obj();
  both.dynamicResources = both.dynamic_resources;
  assert.match(problems(both).join('\n'), /given twice/);
  assert.match(checkBootstrapYaml('node: {id: a}\nnode: {id: b}\n').join('\n'), /YAML/);
});

test('gRPC bootstrap: all servers in one server_uri, accepted by @grpc/grpc-js-xds', () => {
  const { validateBootstrapConfig } = require('@grpc/grpc-js-xds/build/src/xds-bootstrap');
  const ipv4 = renderGrpcBootstrap({
    nodeId: 'c1',
    locality: BASE.locality,
    xdsServers: [
      { host: '127.0.0.1', port: 18001 },
      { host: '127.0.0.2', port: 18002 },
    ],
  });
  assert.deepEqual(ipv4, {
    xds_servers: [{ server_uri: 'ipv4:127.0.0.1:18001,127.0.0.2:18002', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'c1', locality: { region: 'eu-west', zone: 'eu-west-fr', sub_zone: 'edge-lyon-2' } },
  });
  const info = validateBootstrapConfig(JSON.parse(JSON.stringify(ipv4)));
  assert.equal(info.xdsServers[0].server_uri, 'ipv4:127.0.0.1:18001,127.0.0.2:18002');
  assert.equal(info.node.locality.sub_zone, 'edge-lyon-2');
  assert.equal(
    grpcServerUri([
      { host: '::1', port: 1 },
      { host: 'fd00::2', port: 2 },
    ]),
    'ipv6:[::1]:1,[fd00::2]:2',
  );
  assert.equal(grpcServerUri(BASE.xdsServers), 'dns:///10.1.0.2:18000');
  assert.equal(
    grpcServerUri([
      { host: 'relay-a', port: 18000 },
      { host: '10.0.0.1', port: 1 },
    ]),
    'dns:///relay-a:18000',
  );
  assert.throws(() => grpcServerUri([]), /at least one/);
  for (const e of BOOTSTRAP_EXAMPLES.filter((x) => x.kind === 'grpc')) {
    assert.doesNotThrow(() => validateBootstrapConfig(JSON.parse(renderExample(e))));
  }
});
