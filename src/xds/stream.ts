/**
 * The base of both xDS stream kinds: the gRPC call's events, who the proxy is
 * and which view it gets (first request), the per-type service check, the
 * send path (one response in flight, the server-wide send budget), reporting
 * ACKs and NACKs to the callbacks, closing and failing with a status.
 */
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import { kindOfTypeUrl, TYPE_URL, type ResourceKind } from './protos';
import { boundedString, proxyIdentity, type ProxyIdentity, type ViewKey } from './proxy';
import type { SnapshotSource } from './source';
import type { ResourceSet, Snapshot } from './snapshot';
import type { EnvoyNode } from './wire';
import { NO_BUDGET, type SendBudget } from './send-budget';
import type { Refusal, StreamCallbacks, StreamInfo, StreamTransport, XdsProtocol, XdsServiceName } from './stream-callbacks';
import type { Answer, TypeState, TypeStatus } from './protocol-state';
import { standaloneStreamCaches, type SharedStreamCaches } from './stream-caches';
import { XDS_LIMITS } from './limits';
import { NODE_CREDENTIAL_KEY } from './node-scan';

/**
 * What the decoder hands a stream instead of a request it would not decode
 * (too large, not a valid message): the stream ends with its status.
 */
export class RejectedRequest {
  constructor(readonly refusal: Refusal) {}
}

let nextStreamId = 1;

export { NODE_CREDENTIAL_KEY };

/** The node credential in node.metadata, if any (a bounded copy; never logged or kept on the stream). */
function nodeCredential(node: EnvoyNode): string | null {
  const f = (node.metadata as { fields?: Record<string, { kind?: string; stringValue?: string }> | null } | null)?.fields?.[NODE_CREDENTIAL_KEY];
  if (!f || f.kind !== 'stringValue' || typeof f.stringValue !== 'string' || f.stringValue.length > 512) return null;
  return boundedString(f.stringValue, 512);
}

export abstract class XdsStream<Req> implements StreamInfo {
  readonly id = nextStreamId++;
  abstract readonly protocol: XdsProtocol;
  readonly openedAt = Date.now();
  readonly peer: string;
  proxy: ProxyIdentity | null = null;
  view: ViewKey | null = null;
  protected snapshot: Snapshot | null = null;
  protected closed = false;
  private unwatch: (() => void) | null = null;
  /** Waiting for the server-wide send budget / given a turn by it. */
  private budgetWaiting = false;
  private budgetGranted = false;

  constructor(
    protected readonly call: ServerDuplexStream<Req | RejectedRequest, Buffer>,
    protected readonly source: SnapshotSource,
    protected readonly callbacks: StreamCallbacks,
    readonly service: XdsServiceName,
    protected readonly budget: SendBudget = NO_BUDGET,
    /** Shared with the server's other streams (subscriptions, encoded responses, diffs). */
    protected readonly caches: SharedStreamCaches = standaloneStreamCaches(),
  ) {
    this.peer = call.getPeer();
    call.on('data', (req: Req | RejectedRequest) => {
      if (this.closed) return;
      if (req instanceof RejectedRequest) return this.refuse(req.refusal);
      try {
        this.onRequest(req);
      } catch (err) {
        // A bug handling one request ends that stream, not the process.
        this.callbacks.onError?.(this, err);
        this.fail(status.INTERNAL, 'internal error while handling the request');
      }
    });
    call.on('end', () => {
      this.close();
      call.end();
    });
    call.on('error', () => this.close());
    call.on('cancelled', () => this.close());
    call.on('close', () => this.close());
    callbacks.onStreamOpen(this);
  }

  transport(): StreamTransport {
    const a = this.call.getAuthContext();
    return { tls: a?.transportSecurityType === 'ssl', certificate: a?.sslPeerCertificate ?? null };
  }

  terminate(code: status, details: string): void {
    this.fail(code, details);
  }

  protected abstract onRequest(req: Req): void;
  /** Sends what is pending (called again when the send budget gives this stream its turn). */
  protected abstract flush(): void;

  /**
   * Whether this stream may write a response now under the server-wide send
   * budget; when not, flush() runs again once it is this stream's turn.
   */
  protected mayWrite(): boolean {
    if (this.budgetGranted) {
      this.budgetGranted = false;
      return true;
    }
    if (this.budgetWaiting) return false;
    if (this.budget.admit(this.onBudgetTurn)) return true;
    this.budgetWaiting = true;
    return false;
  }

  private readonly onBudgetTurn = (): void => {
    this.budgetWaiting = false;
    if (this.closed) return;
    this.budgetGranted = true;
    this.flush();
    this.budgetGranted = false;
  };

  private nonceSeq = 0;
  /** A response is written and not yet handed to HTTP/2: send nothing else meanwhile. */
  protected inFlight = false;
  private flushScheduled = false;

  protected nextNonce(): string {
    return (++this.nonceSeq).toString(36);
  }

  /** Flushes in the next slice of send work (see SendBudget: paced so I/O is read between slices). */
  protected scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight) return;
    this.flushScheduled = true;
    this.budget.schedule(this.runFlush);
  }

  private readonly runFlush = (): void => {
    this.flushScheduled = false;
    if (!this.closed) this.flush();
  };

  /**
   * Writes one response and holds the stream until HTTP/2 has taken it, then
   * looks for more (flow control: a slow reader holds at most one response).
   * The server's response serializer joins the parts and the nonce.
   */
  protected send(msg: { length: number }): void {
    this.inFlight = true;
    this.writeCounted(msg, () => {
      this.inFlight = false;
      this.scheduleFlush();
    });
  }

  /** Writes one response, counted by the send budget until HTTP/2 has taken it; then `done`. */
  protected writeCounted(msg: { length: number }, done: () => void): void {
    const ticket = this.budget.take(msg.length);
    this.call.write(msg as unknown as Buffer, () => {
      this.budget.release(ticket);
      done();
    });
  }
  /**
   * Applies a request's response_nonce and error_detail to one type
   * (protocol-state.ts) and reports the ACK, NACK or stale answer.
   */
  protected answer(st: TypeState, nonce: string, errorDetail: { code?: number; message?: string } | null | undefined, versionInfo?: string): Answer {
    const a = st.answer(nonce, errorDetail, versionInfo);
    if (a === 'ack') this.callbacks.onAck(this, st.kind, st.ackedVersion ?? '', Date.now() - st.sentAt);
    else if (a === 'nack') this.callbacks.onNack(this, st.kind, st.sentVersion, st.lastError!.message);
    else if (a !== 'repeat') this.callbacks.onStale(this, st.kind);
    return a;
  }

  protected abstract onSnapshot(s: Snapshot): void;
  abstract status(): Partial<Record<ResourceKind, TypeStatus>>;
  abstract ackedResources(kind: ResourceKind): { set: ResourceSet; names: string[] } | null;

  /**
   * The resource kind a request is about, or undefined to ignore it (a type
   * we do not serve) — a per-type service given another type fails the stream.
   */
  protected kindOf(typeUrl: string): ResourceKind | undefined {
    if (this.service !== 'ads') {
      if (typeUrl && typeUrl !== TYPE_URL[this.service]) {
        const asked = boundedString(typeUrl, 200);
        this.refuse({ reason: 'invalid_request', code: status.INVALID_ARGUMENT, details: `this service serves ${TYPE_URL[this.service]}, not ${asked}` });
        return undefined;
      }
      return this.service;
    }
    return kindOfTypeUrl(typeUrl);
  }

  /**
   * On the first request: who the proxy is (a bounded copy of its Node), its
   * view, and the view's snapshot. False when the stream was refused.
   */
  protected identify(node: EnvoyNode | null | undefined): boolean {
    if (this.proxy) return true;
    if (!node || !node.id) {
      this.refuse({ reason: 'invalid_request', code: status.INVALID_ARGUMENT, details: 'the first request on an xDS stream must carry node.id' });
      return false;
    }
    if (node.id.length > XDS_LIMITS.maxNodeIdChars) {
      const details = `node.id is ${node.id.length} characters long; the limit is ${XDS_LIMITS.maxNodeIdChars}`;
      this.refuse({ reason: 'invalid_request', code: status.INVALID_ARGUMENT, details });
      return false;
    }
    this.proxy = proxyIdentity(node);
    const refusal = this.callbacks.onIdentify?.(this, nodeCredential(node)) ?? null;
    if (refusal) {
      this.refuse(refusal);
      return false;
    }
    this.view = this.source.viewFor(this.proxy);
    this.snapshot = this.source.acquire(this.view);
    this.unwatch = this.source.watch(this.view, (s) => {
      if (!this.closed) this.onSnapshot(s);
    });
    return true;
  }

  /** Ends the stream for a reason the server counts (limits, bad requests). */
  protected refuse(r: Refusal): void {
    if (this.closed) return;
    this.callbacks.onRefused?.(this, r);
    this.fail(r.code, r.details);
  }

  protected fail(code: status, details: string): void {
    if (this.closed) return;
    this.close();
    // grpc-js turns an 'error' event into the stream's final status.
    this.call.emit('error', Object.assign(new Error(details), { code, details }));
  }

  protected close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    this.unwatch = null;
    if (this.view !== null) this.source.release(this.view);
    this.callbacks.onStreamClose(this);
  }
}
