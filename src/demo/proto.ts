/**
 * Runtime loading of protos/echo.proto (@grpc/proto-loader, by path). The
 * path is found by walking up from __dirname, so it works from src/ (ts-node),
 * dist/src/ and an installed package (protos/ ships next to dist/).
 */
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const ECHO_PACKAGE = 'edgexds.demo.v1';
/** Full service name (also the name used in grpc.health.v1). */
export const ECHO_SERVICE = `${ECHO_PACKAGE}.Echo`;

export interface EchoRequest {
  message?: string;
  sentAtMs?: number;
}

export interface EchoReply {
  message: string;
  nodeId: string;
  region: string;
  zone: string;
  subZone: string;
  serverProcessingMs: number;
  sentAtMs: number;
}

export type EchoCallback = (err: grpc.ServiceError | null, reply?: EchoReply) => void;

/** The generated-at-runtime client class (grpc.makeGenericClientConstructor). */
export interface EchoClient extends grpc.Client {
  Echo(req: EchoRequest, metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, cb: EchoCallback): grpc.ClientUnaryCall;
}
export type EchoClientConstructor = new (target: string, creds: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => EchoClient;

/** Absolute path of protos/echo.proto. */
export function echoProtoPath(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'protos', 'echo.proto');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`protos/echo.proto not found above ${__dirname}`);
}

interface Loaded {
  service: grpc.ServiceDefinition;
  Client: EchoClientConstructor;
}

let cached: Loaded | null = null;

export function loadEcho(): Loaded {
  if (cached) return cached;
  const def = protoLoader.loadSync(echoProtoPath(), { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { edgexds: { demo: { v1: { Echo: grpc.ServiceClientConstructor } } } };
  const ctor = pkg.edgexds.demo.v1.Echo;
  cached = { service: ctor.service, Client: ctor as unknown as EchoClientConstructor };
  return cached;
}
