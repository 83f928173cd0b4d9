/**
 * A proxy's side of an xDS stream with no network, for any stream kind: the
 * protocol cases (test/xds/protocol.cases.ts) speak in neutral terms (want
 * these names, ACK, NACK, reconnect) and a StreamKind adapter turns them into
 * that kind's requests and decodes its responses. The stream under test runs
 * on a FakeCall and watches a FakeSource; callbacks are recorded as events.
 */
import assert from 'node:assert/strict';
import type { ResourceKind } from '../../src/xds/protos';
import type { SnapshotSource } from '../../src/xds/source';
import type { StreamCallbacks, StreamInfo, XdsProtocol, XdsServiceName } from '../../src/xds/stream-callbacks';
import type { TypeStatus } from '../../src/xds/protocol-state';
import { FakeCall, settle, type FakeSource } from './fake-stream';

/** A response as the proxy decodes it. */
export interface Response {
  kind: ResourceKind;
  /** version_info (SotW) or system_version_info (delta). */
  version: string;
  nonce: string;
  /** Each resource's bytes as text (`name:content`), in the order sent. */
  resources: string[];
  /** removed_resources (delta; always empty for SotW). */
  removed: string[];
  /** Per-resource versions, parallel to `resources` (delta only). */
  resourceVersions?: string[];
}

/** One request of the proxy, in protocol-neutral terms. */
export interface RequestStep {
  kind: ResourceKind;
  /** Node on this request (the first of a stream); null: a node without id. */
  node?: { id: string } | null;
  /**
   * The subscription the proxy wants from now on ([] on LDS/CDS: wildcard
   * when first or already wildcard, as SotW defines it); undefined: unchanged.
   */
  names?: readonly string[];
  /** The response this request answers (its nonce): an ACK, or a NACK with `error`. */
  answering?: Response;
  error?: string;
}

/** The proxy's side of one stream, in one kind's terms. */
export interface KindClient {
  /** The request for `step`, as the server's request deserializer hands it to the stream. */
  request(step: RequestStep): unknown;
  /** The proxy accepted `r` (now holds what it carries). */
  accepted(r: Response): void;
}

/** What a stream kind provides to run the cases. */
export interface StreamKind {
  readonly protocol: XdsProtocol;
  /** The stream under test, on a fake call. */
  createStream(call: FakeCall, source: SnapshotSource, callbacks: StreamCallbacks, service: XdsServiceName): StreamInfo;
  /** A new proxy side; `resuming`: the one it reconnects from (its first request per type presents what that one held). */
  createClient(resuming?: KindClient): KindClient;
  /** One written response, decoded. */
  decode(bytes: Buffer): Response;
}

/** A StreamCallbacks call, as recorded. */
export type CallbackEvent =
  | { event: 'response'; kind: ResourceKind; version: string; resources: number; removed: number }
  | { event: 'ack'; kind: ResourceKind; version: string }
  | { event: 'nack'; kind: ResourceKind; version: string | null; detail: string }
  | { event: 'stale'; kind: ResourceKind }
  | { event: 'open' | 'close' };

export interface FakeProxyOptions {
  service?: XdsServiceName;
  node?: { id: string } | null;
  resuming?: FakeProxy;
}

/** A proxy on one stream: sends requests, reads responses and the stream's status. */
export class FakeProxy {
  readonly call = new FakeCall();
  readonly events: CallbackEvent[] = [];
  readonly stream: StreamInfo;
  readonly client: KindClient;
  private read = 0;
  private identified = false;
  private readonly node: { id: string } | null;

  /**
   * opts.service: the xDS service of the call (default ADS); opts.node: the
   * node of the first request (default id proxy-1; null: no id);
   * opts.resuming: the proxy reconnects from that stream.
   */
  constructor(
    private readonly streamKind: StreamKind,
    readonly source: FakeSource,
    opts: FakeProxyOptions = {},
  ) {
    const ev = this.events;
    this.stream = streamKind.createStream(
      this.call,
      source,
      {
        onStreamOpen: () => ev.push({ event: 'open' }),
        onStreamClose: () => ev.push({ event: 'close' }),
        onResponse: (_s, k, version, _bytes, resources, removed) => ev.push({ event: 'response', kind: k, version, resources, removed }),
        onAck: (_s, k, version) => ev.push({ event: 'ack', kind: k, version }),
        onNack: (_s, k, version, detail) => ev.push({ event: 'nack', kind: k, version, detail }),
        onStale: (_s, k) => ev.push({ event: 'stale', kind: k }),
      },
      opts.service ?? 'ads',
    );
    this.client = streamKind.createClient(opts.resuming?.client);
    this.node = opts.node === undefined ? { id: 'proxy-1' } : opts.node;
  }

  private send(step: RequestStep): void {
    const first = !this.identified;
    this.identified = true;
    this.call.emit('data', this.client.request(first ? { ...step, node: this.node } : step));
  }

  /** The proxy wants exactly `names` of `kind` (see RequestStep.names), answering `answering` if given. */
  want(kind: ResourceKind, names: readonly string[], answering?: Response): void {
    if (answering) this.client.accepted(answering);
    this.send({ kind, names, answering });
  }

  ack(r: Response): void {
    this.client.accepted(r);
    this.send({ kind: r.kind, answering: r });
  }

  nack(r: Response, error: string): void {
    this.send({ kind: r.kind, answering: r, error });
  }

  /** A first request for another type URL (one the server does not serve); the proxy's own memory is left alone. */
  requestTypeUrl(typeUrl: string): void {
    this.identified = true;
    const req = this.streamKind.createClient().request({ kind: 'cluster', names: [], node: this.node });
    this.call.emit('data', { ...(req as object), type_url: typeUrl });
  }

  /** Runs the send work (HTTP/2 taking every write, unless `hold`) and returns the responses written since the last call. */
  async responses(opts: { hold?: boolean } = {}): Promise<Response[]> {
    await settle([this.call], { completeWrites: !opts.hold });
    const out = this.call.out.slice(this.read).map((b) => this.streamKind.decode(b));
    this.read = this.call.out.length;
    return out;
  }

  status(kind: ResourceKind): TypeStatus {
    const st = this.stream.status()[kind];
    assert.ok(st, `a status for ${kind}`);
    return st;
  }

  /** The proxy ends the call. */
  end(): void {
    this.call.emit('end');
  }
}
