/**
 * Raw xDS streams for adversarial tests: bytes in, bytes out (identity
 * serializers), so a test can send what no well-behaved client would (huge
 * nodes, random bytes) and see the exact gRPC status the server ends with.
 */
import * as grpc from '@grpc/grpc-js';
import { Writer } from 'protobufjs';
import { envoyType } from '../../src/xds/protos';

export const ADS_SOTW = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
export const ADS_DELTA = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

export interface StreamEnd {
  code: grpc.status;
  details: string;
}

export interface RawStream {
  readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  readonly responses: Buffer[];
  /** Set once the stream has ended (any status, OK included). */
  end: StreamEnd | null;
  /** Resolves with the final status (never rejects). */
  readonly ended: Promise<StreamEnd>;
  /** The final status, or rejects when the stream is still open after timeoutMs. */
  endWithin(timeoutMs: number): Promise<StreamEnd>;
  send(msg: Buffer): void;
  /**
   * Resolves at the first response or the end of the stream, whichever comes
   * first, or with 'silent' after timeoutMs.
   */
  settle(timeoutMs: number): Promise<'response' | 'ended' | 'silent'>;
  close(): void;
}

const identity = (b: Buffer): Buffer => b;

export function openRaw(client: grpc.Client, path: string = ADS_SOTW): RawStream {
  const call = client.makeBidiStreamRequest(path, identity, identity);
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  let resolveEnded!: (e: StreamEnd) => void;
  const ended = new Promise<StreamEnd>((r) => (resolveEnded = r));
  const s: RawStream = {
    call,
    responses: [],
    end: null,
    ended,
    endWithin: (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        ended.finally(() => clearTimeout(timer)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`stream still open after ${timeoutMs} ms (${s.responses.length} responses)`)), timeoutMs);
        }),
      ]);
    },
    send: (msg) => {
      if (!s.end) call.write(msg);
    },
    settle: (timeoutMs) =>
      new Promise((resolve) => {
        const check = (): boolean => {
          if (s.responses.length > 0) return finish('response');
          if (s.end) return finish('ended');
          return false;
        };
        const timer = setTimeout(() => finish('silent'), timeoutMs);
        const finish = (r: 'response' | 'ended' | 'silent'): boolean => {
          clearTimeout(timer);
          waiters.delete(onEvent);
          resolve(r);
          return true;
        };
        const onEvent = (): void => void check();
        if (!check()) waiters.add(onEvent);
      }),
    close: () => {
      call.cancel();
    },
  };
  call.on('data', (b: Buffer) => {
    s.responses.push(b);
    wake();
  });
  // 'error' carries the same status as 'status'; listening keeps it from being thrown.
  call.on('error', () => undefined);
  call.on('status', (st: grpc.StatusObject) => {
    s.end = { code: st.code, details: st.details };
    resolveEnded(s.end);
    wake();
  });
  return s;
}

/** type_url and nonce of a response (SotW or delta: both keep them in fields 4 and 5). */
export function responseHead(buf: Buffer, delta = false): { typeUrl: string; nonce: string; version: string; resources: number } {
  const t = envoyType(delta ? 'envoy.service.discovery.v3.DeltaDiscoveryResponse' : 'envoy.service.discovery.v3.DiscoveryResponse');
  const m = t.toObject(t.decode(buf), { defaults: true, arrays: true }) as Record<string, unknown>;
  return {
    typeUrl: String(m.type_url),
    nonce: String(m.nonce),
    version: String(delta ? m.system_version_info : m.version_info),
    resources: (m.resources as unknown[]).length,
  };
}

/** A length-delimited field (tag + length + bytes), for assembling requests from parts. */
export function delimited(field: number, bytes: Uint8Array): Buffer {
  return Buffer.from(
    Writer.create()
      .uint32((field << 3) | 2)
      .bytes(bytes)
      .finish(),
  );
}

/** A string field. */
export function stringField(field: number, value: string): Buffer {
  return Buffer.from(
    Writer.create()
      .uint32((field << 3) | 2)
      .string(value)
      .finish(),
  );
}

/**
 * google.protobuf.Struct as protobufjs's fromObject takes it here: the
 * well-known types come from protobufjs's bundled definitions, whose field
 * names are camelCase (stringValue, not string_value) even in a keepCase root.
 */
export function toProtoStruct(o: Record<string, unknown>): { fields: Record<string, Record<string, unknown>> } {
  const value = (v: unknown): Record<string, unknown> => {
    if (v === null || v === undefined) return { nullValue: 0 };
    if (typeof v === 'number') return { numberValue: v };
    if (typeof v === 'string') return { stringValue: v };
    if (typeof v === 'boolean') return { boolValue: v };
    if (Array.isArray(v)) return { listValue: { values: v.map(value) } };
    return { structValue: toProtoStruct(v as Record<string, unknown>) };
  };
  const fields: Record<string, Record<string, unknown>> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = value(v);
  return { fields };
}
