/**
 * The bounded Node scanner (src/xds/node-scan.ts) against protobufjs: for any
 * Node, the identity a stream keeps is the same whether the Node was scanned
 * or fully decoded, and the rest of the request decodes as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { envoyType, TYPE_URL } from '../../src/xds/protos';
import { proxyIdentity } from '../../src/xds/proxy';
import { scanNode, splitField, withScannedNode } from '../../src/xds/node-scan';
import { decodeDeltaDiscoveryRequest, decodeDiscoveryRequest, encodeDeltaDiscoveryRequest, encodeDiscoveryRequest, type EnvoyNode } from '../../src/xds/wire';
import { XDS_LIMITS } from '../../src/xds/limits';
import { delimited, toProtoStruct } from '../helpers/raw-xds';
import { binaryString } from '../helpers/arbitraries';

const OPTS = { longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true } as const;
const NodeType = envoyType('envoy.config.core.v3.Node');

function fullNode(bytes: Uint8Array): EnvoyNode {
  return NodeType.toObject(NodeType.decode(bytes), OPTS) as EnvoyNode;
}

const short = binaryString({ maxLength: 20 });
// Around the cut (maxNodeStringChars 256, client features 128), in every plane of Unicode.
const anyText = fc.oneof(short, binaryString({ minLength: 120, maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 300 }));
const smallCoordinate = fc.oneof(
  fc.double(),
  fc.double({ min: -180, max: 180, noNaN: true }).map(String),
  short,
  binaryString({ minLength: 60, maxLength: 70 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const coordinate = fc.oneof(smallCoordinate, anyText);
const metadata = fc.record(
  {
    lat: coordinate,
    lon: coordinate,
    // A location object is read only up to 1 KiB (see the next test): these stay under it.
    location: fc.oneof(coordinate, fc.record({ lat: smallCoordinate, lon: smallCoordinate, other: short }, { requiredKeys: [] }), fc.constant('31.2,121.4')),
    extra: fc.dictionary(short, fc.oneof(short, fc.integer()), { maxKeys: 5 }),
  },
  { requiredKeys: [] },
);

const nodeArb = fc.record(
  {
    id: fc.oneof(short, anyText),
    cluster: anyText,
    user_agent_name: fc.oneof(fc.constantFrom('envoy', 'Envoy', 'gRPC Node Pure JS'), anyText),
    user_agent_version: short,
    locality: fc.record({ region: anyText, zone: anyText, sub_zone: anyText }, { requiredKeys: [] }),
    metadata,
    client_features: fc.array(anyText, { maxLength: 50 }),
    extensions: fc.array(fc.record({ name: short, category: short }), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

function encodeNode(n: Record<string, unknown>): Buffer {
  const md = n.metadata as Record<string, unknown> | undefined;
  const obj = { ...n, metadata: md ? toProtoStruct({ ...(md.extra as Record<string, unknown>), ...md, extra: undefined }) : undefined };
  return Buffer.from(NodeType.encode(NodeType.fromObject(obj)).finish());
}

test('scanNode keeps exactly the identity a full decode gives, for any Node', () => {
  fc.assert(
    fc.property(nodeArb, (n) => {
      const bytes = encodeNode(n);
      assert.deepEqual(proxyIdentity(scanNode(bytes)), proxyIdentity(fullNode(bytes)));
      // Protobuf merges a message field given twice: so does the scanner.
      const twice = Buffer.concat([bytes, encodeNode({ cluster: 'second', client_features: ['f2'] })]);
      assert.deepEqual(proxyIdentity(scanNode(twice)), proxyIdentity(fullNode(twice)));
    }),
    { numRuns: 300 },
  );
});

test('the identity is bounded: strings cut, features capped, metadata reduced to its location keys', () => {
  const bytes = encodeNode({
    id: 'n1',
    cluster: 'c'.repeat(100_000),
    locality: { region: '\u{1F600}'.repeat(5000) },
    client_features: Array.from({ length: 1000 }, (_, i) => `f${i}`),
    metadata: { lat: 1, lon: 2, location: { lat: 3, lon: 4, junk: 'x'.repeat(2000) }, extra: { big: 'y'.repeat(100_000) } },
  });
  const p = proxyIdentity(scanNode(bytes));
  assert.equal(p.cluster.length, XDS_LIMITS.maxNodeStringChars);
  // Never half a surrogate pair.
  assert.equal(p.locality.region, '\u{1F600}'.repeat(XDS_LIMITS.maxNodeStringChars / 2));
  assert.equal(p.clientFeatures.length, XDS_LIMITS.maxClientFeatures);
  // A location value over 1 KiB is not decoded at all (a full decode would have read lat/lon from it).
  assert.deepEqual(p.metadata, { lat: 1, lon: 2 });
});

test('requests: with the node scanned, every other field decodes as before (SotW and delta), and bad node bytes throw', () => {
  const sotw = withScannedNode(decodeDiscoveryRequest, 2);
  const delta = withScannedNode(decodeDeltaDiscoveryRequest, 1);
  const names = fc.array(short, { maxLength: 20 });
  fc.assert(
    fc.property(nodeArb, names, short, short, fc.option(fc.record({ code: fc.integer({ min: 0, max: 16 }), message: short }), { nil: undefined }), (n, rn, version, nonce, err) => {
      const node = fullNode(encodeNode(n));
      const s = encodeDiscoveryRequest({ node, version_info: version, resource_names: rn, type_url: TYPE_URL.endpoint, response_nonce: nonce, error_detail: err });
      const a = sotw(s);
      const b = decodeDiscoveryRequest(s);
      for (const k of ['version_info', 'resource_names', 'type_url', 'response_nonce', 'error_detail', 'resource_locators'] as const) assert.deepEqual(a[k], b[k], k);
      assert.deepEqual(proxyIdentity(a.node!), proxyIdentity(b.node!));
      const d = encodeDeltaDiscoveryRequest({
        node,
        type_url: TYPE_URL.cluster,
        resource_names_subscribe: rn,
        initial_resource_versions: { [version]: nonce },
        response_nonce: nonce,
        error_detail: err,
      });
      const da = delta(d);
      const db = decodeDeltaDiscoveryRequest(d);
      for (const k of ['type_url', 'resource_names_subscribe', 'resource_names_unsubscribe', 'initial_resource_versions', 'response_nonce', 'error_detail'] as const)
        assert.deepEqual(da[k], db[k], k);
      assert.deepEqual(proxyIdentity(da.node!), proxyIdentity(db.node!));
    }),
    { numRuns: 200 },
  );
  // A node whose inner length runs past its end.
  const broken = Buffer.concat([delimited(2, Buffer.from([0x0a, 0x7f, 0x61])), encodeDiscoveryRequest({ type_url: TYPE_URL.cluster })]);
  assert.throws(() => sotw(broken), /node/);
  // A node field that is not length-delimited (protobufjs would decode a whole node from what follows).
  assert.throws(() => sotw(Buffer.from([0x10, 0x01, 0x0a])), /wire type 0/);
  // A last field running past the end (protobufjs would cut the string short).
  assert.throws(() => sotw(Buffer.from([0x1a, 0x05, 0x61])), /out of range|past the end/);
  // No node: the request is decoded untouched.
  assert.deepEqual(splitField(encodeDiscoveryRequest({ type_url: 't' }), 2).field, null);
});
