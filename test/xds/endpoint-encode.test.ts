/**
 * The direct ClusterLoadAssignment encoder writes exactly the bytes of the
 * generic deterministic encoder, for every shape the builder makes; anything
 * else is left to the generic encoder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClusterLoadAssignment } from '../../src/xds/resources/endpoint';
import { encodeMessage, RESOURCE_TYPE_NAME } from '../../src/xds/resources/encode';
import { encodeClusterLoadAssignmentFast } from '../../src/xds/resources/endpoint-encode';
import type { EndpointAssignment } from '../../src/model/types';
import { prng } from '../helpers/prng';

const HEALTH = ['HEALTHY', 'DEGRADED', 'UNHEALTHY', 'DRAINING'] as const;

test('direct CLA encoder: same bytes as encodeMessage for random assignments', () => {
  const generic = (m: object): Buffer => encodeMessage(RESOURCE_TYPE_NAME.endpoint, m);
  for (let seed = 1; seed <= 400; seed++) {
    const rnd = prng(seed);
    const n = Math.floor(rnd() * 12);
    const maxPriority = Math.floor(rnd() * 3);
    const endpoints: EndpointAssignment[] = [];
    for (let i = 0; i < n; i++) {
      const ep = {
        nodeId: rnd() < 0.1 ? '' : `node-${seed}-${i}`,
        address: rnd() < 0.2 ? `2001:db8::${i + 1}` : `10.${seed % 250}.${i}.${Math.floor(rnd() * 250) + 1}`,
        port: rnd() < 0.1 ? 65535 : 1 + Math.floor(rnd() * 60000),
        priority: i <= maxPriority ? i : Math.floor(rnd() * (maxPriority + 1)),
        weight: rnd() < 0.1 ? 1 : rnd() < 0.1 ? 2 ** 31 : 1 + Math.floor(rnd() * 1000),
        health: HEALTH[Math.floor(rnd() * HEALTH.length)],
        locality: { region: rnd() < 0.1 ? '' : `r${Math.floor(rnd() * 3)}`, zone: rnd() < 0.2 ? '' : `z${Math.floor(rnd() * 3)}`, subZone: rnd() < 0.3 ? '' : `node-${i}` },
      };
      endpoints.push(ep as unknown as EndpointAssignment);
    }
    const opts = { overprovisioningFactor: rnd() < 0.5 ? undefined : 1 + Math.floor(rnd() * 500), endpointStaleAfterMs: rnd() < 0.7 ? undefined : Math.floor(rnd() * 100_000) + 1 };
    let cla;
    try {
      cla = buildClusterLoadAssignment(`svc-${seed}`, endpoints, opts);
    } catch {
      continue; // an input the builder refuses
    }
    const fast = encodeClusterLoadAssignmentFast(cla);
    assert.ok(fast, `seed ${seed}: the builder's shape takes the direct path`);
    assert.ok(fast.equals(generic(cla)), `seed ${seed}: same bytes`);
  }
});

test('direct CLA encoder: edge values and shapes it does not know', () => {
  const generic = (m: object): Buffer => encodeMessage(RESOURCE_TYPE_NAME.endpoint, m);
  const cases: object[] = [
    { cluster_name: 'a' },
    { cluster_name: '', endpoints: [] },
    { cluster_name: 'a', endpoints: [{ locality: {}, lb_endpoints: [{}], load_balancing_weight: {}, priority: 0 }], policy: {} },
    { cluster_name: 'a', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 0 } } }, health_status: 'UNKNOWN' }] }] },
    { cluster_name: 'a', endpoints: [{ lb_endpoints: [{ health_status: 5, load_balancing_weight: { value: 0 } }] }], policy: { endpoint_stale_after: { seconds: 0, nanos: 0 } } },
  ];
  for (const c of cases) {
    const fast = encodeClusterLoadAssignmentFast(c);
    assert.ok(fast, JSON.stringify(c));
    assert.ok(fast.equals(generic(c)), `same bytes for ${JSON.stringify(c)}`);
  }
  // Other fields: the generic encoder's business.
  assert.equal(encodeClusterLoadAssignmentFast({ cluster_name: 'a', named_endpoints: {} }), null);
  assert.equal(encodeClusterLoadAssignmentFast({ cluster_name: 'a', endpoints: [{ lb_endpoints: [{ metadata: {} }] }] }), null);
  assert.equal(encodeClusterLoadAssignmentFast({ cluster_name: 'a', endpoints: [{ lb_endpoints: [{ health_status: 'NOPE' }] }] }), null);
  assert.equal(encodeClusterLoadAssignmentFast({ cluster_name: 'a', endpoints: [{ priority: -1 }] }), null);
});
