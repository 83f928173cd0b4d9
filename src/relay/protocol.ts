/**
 * The relay sync service (protos/relay.proto), loaded by path at runtime.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/relay';
import type { RelayMessage__Output } from './generated/edgexds/relay/v1/RelayMessage';
import type { GlobalMessage__Output } from './generated/edgexds/relay/v1/GlobalMessage';
import type { RelayMessage } from './generated/edgexds/relay/v1/RelayMessage';
import type { GlobalMessage } from './generated/edgexds/relay/v1/GlobalMessage';
import type { RelaySyncClient } from './generated/edgexds/relay/v1/RelaySync';

export type { RelayMessage, RelayMessage__Output, GlobalMessage, GlobalMessage__Output, RelaySyncClient };
export type { ViewUpdate__Output } from './generated/edgexds/relay/v1/ViewUpdate';
export type { ViewState } from './generated/edgexds/relay/v1/ViewState';
export type { Forward__Output } from './generated/edgexds/relay/v1/Forward';
export type { TypeUpdate } from './generated/edgexds/relay/v1/TypeUpdate';

function relayProtoPath(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'protos', 'relay.proto');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`protos/relay.proto not found above ${__dirname}`);
}

let loaded: ProtoGrpcType | undefined;
export function relayProto(): ProtoGrpcType {
  if (!loaded) {
    const def = protoLoader.loadSync(relayProtoPath(), { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    loaded = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return loaded;
}

export function relaySyncService(): grpc.ServiceDefinition {
  return relayProto().edgexds.relay.v1.RelaySync.service;
}

/** `credentials`: TLS with the relay's certificate in secure mode (default: plaintext, --insecure). */
export function relaySyncClient(target: string, credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()): RelaySyncClient {
  const Ctor = relayProto().edgexds.relay.v1.RelaySync;
  return new Ctor(target, credentials, {
    'grpc.keepalive_time_ms': 10_000,
    'grpc.keepalive_timeout_ms': 5_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2_000,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  }) as unknown as RelaySyncClient;
}
