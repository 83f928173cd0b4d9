/**
 * XdsServer's caps with small overrides (XdsServerOptions.limits), on a real
 * gRPC server on 127.0.0.1 with a one-cluster snapshot source: refusals name
 * their limit, are counted per reason, logged once per reason and interval
 * without request content, and leave nothing tracked once streams close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { Metrics } from '../../src/observability';
import { XdsServer } from '../../src/xds/server';
import { emptySnapshot, resourceSet, type Snapshot } from '../../src/xds/snapshot';
import { encodedResource } from '../../src/xds/encoded-resource';
import { TYPE_URL } from '../../src/xds/protos';
import type { SnapshotSource } from '../../src/xds/source';
import { encodeDiscoveryRequest } from '../../src/xds/wire';
import { openRaw, toProtoStruct, type RawStream } from '../helpers/raw-xds';
import { eventually } from '../helpers/wait';

function oneClusterSource(): SnapshotSource {
  const snapshot: Snapshot = { ...emptySnapshot(), cluster: resourceSet('cluster', [encodedResource('cluster', 'c1', Buffer.from('x'))]) };
  return { viewFor: () => 'v', acquire: () => snapshot, release: () => undefined, watch: () => () => undefined };
}

test('small caps: per node, per connection and request size refuse with the limit; counted, logged once, no request content', async () => {
  const lines: string[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const metrics = new Metrics(false);
  const server = new XdsServer({ source: oneClusterSource(), logger, metrics, limits: { maxStreamsPerNode: 2, maxStreamsPerConnection: 3, maxRequestBytes: 64 * 1024 } });
  const port = await server.start('127.0.0.1', 0);
  const target = `127.0.0.1:${port}`;
  const local = { 'grpc.use_local_subchannel_pool': 1 };
  const a = new grpc.Client(target, grpc.credentials.createInsecure(), local);
  const b = new grpc.Client(target, grpc.credentials.createInsecure(), local);
  const open: RawStream[] = [];
  const secret = 'SECRET-7f3a9c';
  const first = (id: string): Buffer =>
    encodeDiscoveryRequest({
      node: { id, cluster: `${secret}-cluster`, user_agent_name: 'envoy', metadata: toProtoStruct({ token: secret, lat: 1, lon: 2 }) },
      type_url: TYPE_URL.cluster,
    });
  try {
    // Per node: 2 served, the next 3 refused.
    for (let i = 0; i < 5; i++) {
      const s = openRaw(a);
      s.send(first('node-a'));
      open.push(s);
      const outcome = await s.settle(3000);
      if (i < 2) assert.equal(outcome, 'response', `stream ${i}: ${JSON.stringify(s.end)}`);
      else {
        const end = await s.endWithin(3000);
        assert.equal(end.code, grpc.status.RESOURCE_EXHAUSTED);
        assert.equal(end.details, 'node "node-a" already has 2 open xDS streams (the limit per node id)');
      }
    }
    // Per connection: connection b holds 3, the 4th is refused before its first request is read.
    for (let i = 0; i < 4; i++) {
      const s = openRaw(b);
      s.send(first(`node-b${i}`));
      open.push(s);
      if (i < 3) assert.equal(await s.settle(3000), 'response');
      else {
        const end = await s.endWithin(3000);
        assert.equal(end.code, grpc.status.RESOURCE_EXHAUSTED);
        assert.match(end.details, /already has 3 open xDS streams \(the limit per connection\)/);
      }
    }
    // Request size, on a connection with room.
    const big = openRaw(a);
    big.send(encodeDiscoveryRequest({ node: { id: 'big' }, type_url: TYPE_URL.endpoint, resource_names: ['n'.repeat(64 * 1024)] }));
    const end = await big.endWithin(3000);
    assert.equal(end.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(end.details, /^DiscoveryRequest of \d+ bytes is over the xDS request limit of 65536 bytes$/);

    const text = await metrics.render();
    assert.match(text, /edge_xds_refused_streams_total\{reason="streams_per_node"\} 3\b/);
    assert.match(text, /edge_xds_refused_streams_total\{reason="streams_per_connection"\} 1\b/);
    assert.match(text, /edge_xds_refused_streams_total\{reason="request_too_large"\} 1\b/);

    const refused = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'xds stream refused');
    // One line per reason within the interval (the other per-node refusals are counted into the next line).
    assert.deepEqual(refused.map((l) => l.reason).sort(), ['request_too_large', 'streams_per_connection', 'streams_per_node']);
    const perNode = refused.find((l) => l.reason === 'streams_per_node')!;
    assert.equal(perNode.node, 'node-a');
    assert.match(String(perNode.peer), /^127\.0\.0\.1:\d+$/);
    assert.ok(!lines.join('\n').includes(secret), 'no node metadata or cluster in the logs');
  } finally {
    for (const s of open) s.close();
    a.close();
    b.close();
  }
  await eventually(() => {
    const t = server.tracked();
    return t.streams === 0 && t.connections === 0 && t.nodes === 0;
  }, 3000);
  await server.close(100);
});
