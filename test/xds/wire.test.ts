import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeDiscoveryRequest, encodeDiscoveryRequest } from '../../src/xds/wire';
import { envoyType } from '../../src/xds/protos';

/** What protobufjs itself decodes (the reference). */
function reference(buf: Buffer): Record<string, unknown> {
  const t = envoyType('envoy.service.discovery.v3.DiscoveryRequest');
  return t.toObject(t.decode(buf), { longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true });
}
const plain = (r: ReturnType<typeof decodeDiscoveryRequest>): Record<string, unknown> => ({
  version_info: r.version_info,
  node: r.node,
  resource_names: r.resource_names,
  type_url: r.type_url,
  response_nonce: r.response_nonce,
  error_detail: r.error_detail,
  resource_locators: r.resource_locators,
});

test('DiscoveryRequest: the scanning decoder gives what protobufjs decodes, for ACKs, first requests and NACKs', () => {
  const name = fc.string({ minLength: 0, maxLength: 30, unit: 'grapheme' });
  fc.assert(
    fc.property(
      fc.record({
        version_info: fc.option(name, { nil: undefined }),
        resource_names: fc.array(name, { maxLength: 40 }),
        type_url: fc.option(name, { nil: undefined }),
        response_nonce: fc.option(name, { nil: undefined }),
        node: fc.option(fc.record({ id: name, cluster: name }), { nil: undefined }),
        error_detail: fc.option(fc.record({ code: fc.integer({ min: 0, max: 16 }), message: name }), { nil: undefined }),
      }),
      (req) => {
        const buf = encodeDiscoveryRequest(req);
        const got = decodeDiscoveryRequest(buf);
        assert.deepEqual(plain(got), reference(buf));
        // Only plain requests are scanned; the bytes of their names identify the subscription.
        if (!req.node && !req.error_detail) {
          assert.ok(got.namesRaw, 'scanned');
          const again = decodeDiscoveryRequest(encodeDiscoveryRequest({ ...req, response_nonce: 'other' }));
          assert.ok(again.namesRaw!.equals(got.namesRaw!), 'same names, same bytes');
        } else assert.equal(got.namesRaw, undefined);
      },
    ),
    { numRuns: 300 },
  );
});

test('DiscoveryRequest: different names, different bytes; names split by another field and truncated input take the full decoder', () => {
  const a = decodeDiscoveryRequest(encodeDiscoveryRequest({ resource_names: ['a', 'b'], response_nonce: '1' }));
  const b = decodeDiscoveryRequest(encodeDiscoveryRequest({ resource_names: ['b', 'a'], response_nonce: '1' }));
  assert.equal(a.namesRaw!.equals(b.namesRaw!), false);
  // names (3), type_url (4), names (3): not contiguous.
  const split = Buffer.concat([encodeDiscoveryRequest({ resource_names: ['x'] }), encodeDiscoveryRequest({ type_url: 't' }), encodeDiscoveryRequest({ resource_names: ['y'] })]);
  const got = decodeDiscoveryRequest(split);
  assert.deepEqual(got.resource_names, ['x', 'y']);
  assert.equal(got.type_url, 't');
  assert.equal(got.namesRaw, undefined);
  // Truncated input: exactly what protobufjs makes of it (the full decoder decides).
  const truncated = Buffer.from([0x1a, 0x05, 0x61]);
  assert.deepEqual(plain(decodeDiscoveryRequest(truncated)), reference(truncated));
});

test('encodedResource: the SotW and delta fields are what protobufjs encodes for Any and Resource', async () => {
  const { encodedResource } = await import('../../src/xds/encoded-resource');
  const { TYPE_URL } = await import('../../src/xds/protos');
  const anyType = envoyType('google.protobuf.Any');
  const resourceType = envoyType('envoy.service.discovery.v3.Resource');
  const responseType = envoyType('envoy.service.discovery.v3.DiscoveryResponse');
  const deltaType = envoyType('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  fc.assert(
    fc.property(
      fc.constantFrom('cluster', 'endpoint', 'listener', 'route' as const),
      fc.string({ maxLength: 200, unit: 'grapheme' }),
      fc.uint8Array({ maxLength: 20_000 }),
      fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
      (kind, name, raw, version) => {
        const bytes = Buffer.from(raw);
        const r = encodedResource(kind, name, bytes, version);
        const any = anyType.fromObject({ type_url: TYPE_URL[kind], value: bytes });
        // A response holding only this resource: the field is exactly `resources` of it.
        const sotw = Buffer.from(responseType.encode(responseType.fromObject({ resources: [any] })).finish());
        assert.ok(r.sotwField.equals(sotw), 'SotW field');
        const res = resourceType.fromObject({ version: r.version, resource: any, name });
        const delta = Buffer.from(deltaType.encode(deltaType.fromObject({ resources: [res] })).finish());
        assert.ok(r.deltaField.equals(delta), 'delta field');
      },
    ),
    { numRuns: 200 },
  );
});
