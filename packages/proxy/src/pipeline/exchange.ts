import type { IncomingHttpHeaders } from 'node:http2';
import type { TimeoutsConfig } from '@portico/config';
import type { MatchInput, Rule } from '@portico/router';
import { cookieFrom, queryFrom, type RequestKeys } from '../balancer/request-keys.ts';
import type { ServiceBalancer } from '../balancer/service-balancer.ts';
import type { Deadline } from '../deadline-sweeper.ts';
import { type ExchangePhase, type RequestStart, requestStartChannel } from '../diagnostics.ts';
import { type HeadPlan, headBytes } from '../http/assemble-head.ts';
import { BodyFramer, type TrailerLimits } from '../http/body-framer.ts';
import type { ConnectionContext } from '../http/connection-context.ts';
import { dropNamedFields, FieldCursor } from '../http/field-cursor.ts';
import * as F from '../http/field-names.ts';
import { upstreamRequestPlan, withoutFields } from '../http/forward-head.ts';
import type { RequestHead } from '../http/request-head.ts';
import {
  fieldListOf,
  listResponseHead,
  parseResponseHead,
  type ResponseHead,
} from '../http/response-head.ts';
import { ChunkedDecoder } from '../http2/chunked-decoder.ts';
import { PorticoProxyError } from '../proxy-error.ts';
import type { RouteTarget, Snapshot } from '../snapshot.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { h2ResponseFields, h2UpstreamRequestHeaders } from '../upstream/h2-upstream-heads.ts';
import { type H2UpstreamOwner, H2UpstreamRequest } from '../upstream/h2-upstream-request.ts';
import { MirrorRequest } from '../upstream/mirror-request.ts';
import { ResponseDrain } from '../upstream/response-drain.ts';
import type { UpstreamConnection, UpstreamOwner } from '../upstream/upstream-connection.ts';
import type { Downstream } from './downstream.ts';
import type { PageSink } from './error-pages.ts';
import type { AuthorizationSink, Filter, FilterExchange } from './filter.ts';
import { HeadEditor } from './head-editor.ts';
import type { LocalReply } from './local-reply.ts';
import { nextRequestId } from './request-id.ts';
import { type ContentCoding, type EncodedSink, ResponseEncoder } from './response-encoder.ts';
import { type TraceContext, traceContextFor, traceparentLine } from './trace-context.ts';

/** TRACEPARENT is the field Portico replaces with its own span's when tracing is configured. */
const TRACEPARENT: ReadonlySet<string> = new Set(['traceparent']);

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');

/** States of an exchange. */
const IDLE = 0; // no exchange, or one answered without an upstream
const CONNECTING = 1; // waiting for an upstream connection
const FORWARDING = 2; // request and response in flight
const TUNNEL = 3; // after a 101: bytes spliced both ways
const AUTHORIZING = 4; // waiting for the route's authorize hook (forward auth); the body waits too
const RENDERING = 5; // answered, waiting for an error page's renderer

/** MAX_CONNECT_ATTEMPTS bounds the endpoints tried when connections fail before any byte is sent. */
const MAX_CONNECT_ATTEMPTS = 3;
/** CLIENT_ABORTED ends an exchange the client gave up on (closed, reset, or half-closed mid-body). */
const CLIENT_ABORTED = new PorticoProxyError('PORTICO_CLIENT_ABORTED', 'client closed the connection');
/** UPSTREAM_TRUNCATED and UPSTREAM_STALLED end a response that had started: the client sees it cut short. */
const UPSTREAM_TRUNCATED = new PorticoProxyError('PORTICO_UPSTREAM_RESET', 'upstream closed mid-response');
const UPSTREAM_STALLED = new PorticoProxyError('PORTICO_UPSTREAM_TIMEOUT', 'upstream stalled mid-response');
/** REQUEST_TIMEOUT ends an exchange that took longer than its `timeouts.requestMs`. */
const REQUEST_TIMEOUT = new PorticoProxyError(
  'PORTICO_UPSTREAM_TIMEOUT',
  'request timeout (timeouts.requestMs)',
);
/** RULE_IDS are the fields Portico reads that a route's request rules may still replace or remove. */
const RULE_IDS: ReadonlySet<number> = new Set([F.HOST, F.X_REQUEST_ID]);
/** fieldScan reads request fields for hash keys and route conditions (one at a time, never nested). */
const fieldScan = new FieldCursor();
/** IDEMPOTENT are the methods a configured retry may send again (RFC 9110 9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Exchange is the engine: one request and its response, whatever codec the client speaks. It runs the
 * pipeline in pingora's phase order — the listener's request filters, the route match, the route's
 * request filters (which may answer), upstream selection (affinity, balancer, retries), the upstream
 * request filters (rewrite, header rules, Host), the upstream HTTP/1.1 codec, the response filters
 * (header rules, HSTS), and the outcome (`portico:http:request`). The client side is a `Downstream`; an
 * HTTP/1.1 connection reuses one Exchange for its requests, an HTTP/2 stream has its own.
 */
export class Exchange
  implements
    UpstreamOwner,
    H2UpstreamOwner,
    RequestKeys,
    MatchInput,
    FilterExchange,
    Deadline,
    EncodedSink,
    AuthorizationSink,
    PageSink
{
  /** deadline is when the exchange's `timeouts.requestMs` runs out (ms), 0 when it has none. */
  deadline = 0;
  readonly #ctx: ConnectionContext;
  readonly #down: Downstream;
  #state = IDLE;
  #snapshot: Snapshot | undefined;
  #req: RequestHead | undefined;
  #rule: Rule<RouteTarget> | undefined;
  #route: RouteTarget | undefined;
  /** #service is the service chosen for the request: the path's, or one of its weighted backends. */
  #service: ServiceBalancer | undefined;
  /** timeouts apply to this exchange: the snapshot's, or its route's once the route's filters ran. */
  timeouts: TimeoutsConfig;
  /** maxBodyBytes is the largest request body accepted, 0 for no limit. */
  maxBodyBytes = 0;
  /** mirrors name the services copies of the request go to (mirror filters set them). */
  mirrors: string[] | undefined;
  /** retryAttempts replaces the service's retry count (a route's retries filter set it). */
  retryAttempts: number | undefined;
  /** responseCoding compresses the response body (a compression filter set it). */
  responseCoding: ContentCoding | undefined;
  /** #encoder compresses the response body on its way to the client, when responseCoding is set. */
  #encoder: ResponseEncoder | undefined;
  /** #encodedBytes counts the compressed body bytes sent, for the outcome. */
  #encodedBytes = 0;
  /** authorizedLines are the field lines a forward-auth answer adds upstream. */
  authorizedLines = '';
  /** #ticket names the current request for an asynchronous authorize hook's answer. */
  #ticket = 0;
  /** #h2Headers are an HTTP/2 upstream's response headers while the response filters read them. */
  #h2Headers: IncomingHttpHeaders | undefined;
  /** #upstreamHead collects the upstream request filters' changes; #responseHead the response filters'. */
  readonly #upstreamHead = new HeadEditor();
  readonly #responseHead = new HeadEditor();
  /** #lines are the fields added upstream: forwarding, request id, filters' lines, upgrade. */
  #lines = '';
  #upstream: UpstreamConnection | undefined;
  /** #h2 is the request's stream when its service speaks HTTP/2 to endpoints (instead of #upstream). */
  #h2: H2UpstreamRequest | undefined;
  /** #h2Decoder takes the payload out of an HTTP/1.1 chunked request body going to an HTTP/2 upstream. */
  #h2Decoder: ChunkedDecoder | undefined;
  /** #h2Bytes counts the response payload from an HTTP/2 upstream; #trailers are its trailers. */
  #h2Bytes = 0;
  #trailers: string[] | undefined;
  #endpoint: EndpointState | undefined;
  readonly #tried: EndpointState[] = [];
  /** #client is the client's address after trust rules, for affinity and hashing. */
  #client = '';
  /** #passed counts the route's request filters that let this exchange through. */
  #passed = 0;
  /** #setCookie pins the client to its endpoint (cookie affinity); sent with the response. */
  #setCookie: string | undefined;
  /** #counted is true while this request counts in its service's requests in flight. */
  #counted = false;
  #retries = 0;
  #sentAt = 0;
  /** #connectMs and #ttfbMs are this request's upstream timings for its outcome (-1: not reached). */
  #connectMs = -1;
  #ttfbMs = -1;
  #connectStartedAt = 0;
  #requestId: string | undefined;
  /** #trace is the exchange's place in a W3C trace, when `tracing` is configured. */
  #trace: TraceContext | undefined;
  /** #heldBody is the validated part of the body that arrived with the head, sent right after it. */
  #heldBody: Buffer | undefined;
  /** #sentBody is the whole body when it was sent in one piece with the head, so it can be replayed. */
  #sentBody: Buffer | undefined;
  /** #bodyComplete is true once the codec delivered the whole request body. */
  #bodyComplete = false;
  #reusedUpstream = false;
  #retriedStale = false;
  /** #requestDone is true once the whole request went upstream. */
  #requestDone = false;
  #resHead: Buffer | undefined;
  #res: ResponseHead | undefined;
  #responseStarted = false;
  #upstreamTainted = false;
  #startedAt = 0;
  /** #open is true from a request's head until its outcome is reported. */
  #open = false;
  readonly #resFramer = new BodyFramer();
  /** #responseTrailerLimits is what the response's trailers may use of the head limits. */
  readonly #responseTrailerLimits: TrailerLimits = { maxFields: 0, maxBytes: 0 };

  constructor(ctx: ConnectionContext, downstream: Downstream) {
    this.#ctx = ctx;
    this.#down = downstream;
    this.timeouts = ctx.snapshot.timeouts;
  }

  // ---- FilterExchange ------------------------------------------------------------------------

  get request(): RequestHead {
    return this.#req!;
  }

  get scheme(): 'http' | 'https' {
    return this.#down.client.scheme;
  }

  get rule(): Rule<RouteTarget> | undefined {
    return this.#rule;
  }

  // ---- what codecs call ------------------------------------------------------------------------

  /**
   * start opens an exchange for `req` under `snapshot` and runs the request phase: the listener's filters,
   * the route match and the route's request filters. It returns true when the request is to be proxied
   * (call `forward` next, once the body that came with the head is validated), false when it was answered.
   */
  start(snapshot: Snapshot, req: RequestHead): boolean {
    this.#reset();
    this.#snapshot = snapshot;
    this.#req = req;
    this.#resFramer.reset(0, false);
    this.timeouts = snapshot.timeouts;
    this.maxBodyBytes = snapshot.limits.maxBodyBytes;
    this.mirrors = undefined;
    this.retryAttempts = undefined;
    this.#passed = 0;
    this.#ticket++;
    this.authorizedLines = '';
    this.#startedAt = Date.now();
    this.#open = true;
    this.#ctx.counters.requests++;
    const client = this.#down.client;
    if (requestStartChannel.hasSubscribers) {
      const start: RequestStart = {
        listener: client.listener,
        peer: client.peer,
        method: req.method,
        host: req.host,
        path: req.path,
      };
      requestStartChannel.publish(start);
    }
    // The client's address as Portico trusts it, for access lists, rate limits and affinity.
    this.#client = snapshot.forwarding.clientAddress(req, client.trusted(snapshot), client.peer);
    // An ACME validator's HTTP-01 request is answered before anything else may redirect or refuse it.
    const acme = this.#ctx.acmeChallenges;
    if (acme.size > 0) {
      const reply = acme.reply(req.method, req.path);
      if (reply !== undefined) {
        this.#reply(reply);
        return false;
      }
    }
    const listenerFilters = snapshot.listenerFilters.get(client.listener);
    if (listenerFilters !== undefined && this.#answered(listenerFilters)) return false;
    if (snapshot.listenerHostnames.size > 0 && !this.#listenerServes(req.host, snapshot)) {
      this.#answer(new PorticoProxyError('PORTICO_NO_ROUTE', 'host not served by this listener'));
      return false;
    }
    const sni = client.secure?.servername;
    if (sni !== undefined && this.#misdirected(req.host, sni, snapshot)) {
      this.#answer(
        new PorticoProxyError('PORTICO_MISDIRECTED', 'Host is not served by the certificate of the SNI'),
      );
      return false;
    }
    const rule = snapshot.routes.match(req.host, req.path, this);
    if (rule === undefined) {
      this.#answer(new PorticoProxyError('PORTICO_NO_ROUTE', 'no route'));
      return false;
    }
    this.#rule = rule;
    this.#route = rule.target;
    rule.target.hits.requests++;
    const filters = rule.target.policy.filters;
    if (filters.request.length > 0 && this.#answered(filters.request)) return false;
    this.#passed = filters.request.length;
    const maxBody = this.maxBodyBytes;
    if (maxBody > 0 && req.bodyLength > maxBody) {
      this.fail(new PorticoProxyError('PORTICO_BODY_TOO_LARGE', 'body too large'));
      return false;
    }
    const target = rule.target;
    const name = target.backends === undefined ? target.service : target.backends.pick();
    this.#service = name === undefined ? undefined : snapshot.services.get(name);
    if (this.#service === undefined) {
      this.fail(
        name === undefined
          ? new PorticoProxyError('PORTICO_NO_ENDPOINT', 'no backend of the route has a weight')
          : new PorticoProxyError('PORTICO_BACKEND_UNRESOLVED', 'the backend chosen could not be resolved'),
      );
      return false;
    }
    return true;
  }

  /**
   * #answered runs request filters until one answers; true when one did (the reply is sent). `#passed`
   * counts those that let the request through, whose `done` hooks run when the exchange ends.
   */
  #answered(filters: readonly Filter[]): boolean {
    for (let i = 0; i < filters.length; i++) {
      const reply = filters[i]!.request!(this);
      if (reply !== undefined) {
        this.#passed = i;
        this.#reply(reply);
        return true;
      }
    }
    return false;
  }

  /**
   * forward sends the request upstream: `held` is the body that came with the head (validated), and
   * `complete` tells whether that is the whole body. More body comes through `requestBody` or
   * `requestData` once the exchange calls the codec's `startRequestBody`.
   */
  forward(held: Buffer | undefined, complete: boolean): void {
    const authorizer = this.#route!.policy.filters.authorize;
    if (authorizer !== undefined) {
      this.#heldBody = held;
      this.#bodyComplete = complete;
      this.#state = AUTHORIZING;
      this.#startDeadline();
      authorizer.authorize!(this, this, this.#ticket);
      return;
    }
    this.#proceed(held, complete);
  }

  authorized(ticket: number, lines: string): void {
    if (ticket !== this.#ticket || this.#state !== AUTHORIZING) return;
    this.#state = IDLE;
    this.authorizedLines = lines;
    this.#proceed(this.#heldBody, this.#bodyComplete);
  }

  refused(ticket: number, reply: LocalReply): void {
    if (ticket !== this.#ticket || this.#state !== AUTHORIZING) return;
    this.#state = IDLE;
    this.#reply(reply);
  }

  /** #startDeadline starts the exchange's `timeouts.requestMs`, once. */
  #startDeadline(): void {
    const requestMs = this.timeouts.requestMs;
    if (requestMs > 0 && this.deadline === 0) {
      this.deadline = this.#startedAt + requestMs;
      this.#ctx.sweeper.add(this);
    }
  }

  /** #proceed sends the request upstream, its admission done. */
  #proceed(held: Buffer | undefined, complete: boolean): void {
    const service = this.#service!;
    const pendingLimit = service.config.maxPendingRequests;
    if (pendingLimit > 0 && service.state.active >= pendingLimit) {
      this.fail(new PorticoProxyError('PORTICO_NO_ENDPOINT', 'service at maxPendingRequests'));
      return;
    }
    service.state.active++;
    this.#counted = true;
    this.#startDeadline();
    this.#heldBody = held;
    this.#bodyComplete = complete;
    try {
      this.#prepareUpstreamHead();
    } catch (error) {
      this.fail(asProxyError(error));
      return;
    }
    this.#state = CONNECTING;
    this.#connect(undefined);
  }

  /** #prepareUpstreamHead runs the upstream request filters and decides the lines added upstream. */
  #prepareUpstreamHead(): void {
    const req = this.#req!;
    const snapshot = this.#snapshot!;
    const client = this.#down.client;
    const forwarding = snapshot.forwarding;
    const trusted = client.trusted(snapshot);
    let lines = forwarding.requestLines(
      req,
      client.connectionLines(snapshot),
      trusted,
      client.peer,
      client.localPort,
      client.scheme,
    );
    const head = this.#upstreamHead;
    head.reset();
    const tlsDrop = client.secure?.drop;
    if (tlsDrop !== undefined) head.removeAll(tlsDrop);
    if (req.requestId === undefined) {
      this.#requestId = nextRequestId();
      lines += `x-request-id: ${this.#requestId}\r\n`;
    } else {
      this.#requestId = req.requestId;
    }
    const tracing = snapshot.config.tracing;
    if (tracing !== undefined) {
      // Continue the client's trace (or start one) with a span of Portico's own as the upstream's parent.
      this.#trace = traceContextFor(this.#fieldValues('traceparent', ','), tracing.sampleRatio);
      head.removeAll(TRACEPARENT);
      lines += traceparentLine(this.#trace);
    }
    for (const filter of this.#route!.policy.filters.upstreamRequest) filter.upstreamRequest!(this, head);
    if (head.managed !== undefined) lines = withoutFields(lines, head.managed);
    lines += head.lines;
    if (req.upgrade !== undefined && !req.upgrade.includes('h2c')) {
      lines += `connection: upgrade\r\nupgrade: ${req.upgrade}\r\n`;
    }
    this.#lines = lines;
    if (req.fields === undefined) {
      for (const names of head.removed)
        dropNamedFields(req.buf, req.fieldsStart, req.headEnd, names, req.drop, true, RULE_IDS);
    }
  }

  /**
   * #misdirected tells whether `host` names a host the certificate chosen for the connection's SNI does
   * not serve (RFC 9110 15.5.20): a client must not reuse a connection for another certificate's host.
   */
  #misdirected(host: string, sni: string, snapshot: Snapshot): boolean {
    if (host === sni) return false;
    const name = hostName(host);
    if (name === sni) return false;
    const tls = snapshot.tls.listeners.get(this.#down.client.listener);
    return tls !== undefined && tls.contextFor(name) !== tls.contextFor(sni);
  }

  /** #answer answers with an error status the client caused by asking (404, 421): not a failure. */
  #answer(error: PorticoProxyError): void {
    if (this.#answeredWithPage(error.status, error)) return;
    this.#report(error.status, error);
    this.#down.fail(error, true);
  }

  /**
   * #answeredWithPage answers with the custom error page for `status` (the route's, else the proxy's),
   * keeping the status, when there is one: true when it did (or a renderer is making it).
   */
  #answeredWithPage(status: number, error: PorticoProxyError | undefined): boolean {
    const page = this.#route?.policy.errorPages?.find(status) ?? this.#snapshot?.errorPages?.find(status);
    if (page === undefined || this.#req === undefined) return false;
    if (error !== undefined) this.#ctx.counters.errors++;
    this.#report(status, error);
    const reply = page.reply(status);
    if (reply !== undefined) {
      this.#state = IDLE;
      this.#down.reply(reply);
    } else {
      this.#state = RENDERING;
      page.render(this, status, this, this.#ticket);
    }
    return true;
  }

  /** #hasPage tells whether a custom error page answers for `status`. */
  #hasPage(status: number): boolean {
    return (
      this.#route?.policy.errorPages?.find(status) !== undefined ||
      this.#snapshot?.errorPages?.find(status) !== undefined
    );
  }

  pageRendered(ticket: number, reply: LocalReply): void {
    if (ticket !== this.#ticket || this.#state !== RENDERING) return;
    this.#state = IDLE;
    this.#down.reply(reply);
  }

  #reply(reply: LocalReply): void {
    if (reply.refusal === 'denied') this.#ctx.counters.denied++;
    else if (reply.refusal === 'rate-limited') this.#ctx.counters.rateLimited++;
    else if (reply.refusal === 'unauthorized') this.#ctx.counters.unauthorized++;
    this.#report(reply.status, undefined);
    this.#down.reply(reply);
  }

  /**
   * requestBody sends request body bytes upstream as the client framed them (an HTTP/1.1 codec, which
   * validated them); `done` tells whether they end the body.
   */
  requestBody(chunk: Buffer, done: boolean): void {
    const h2 = this.#h2;
    if (h2 !== undefined) {
      if (this.#req!.bodyLength === -1) {
        this.#h2Decoder ??= new ChunkedDecoder();
        this.#h2Decoder.decode(chunk, this);
      } else h2.stream.write(chunk);
      this.#h2BodySent(h2, done);
      return;
    }
    const upstream = this.#upstream;
    if (upstream === undefined) return;
    const flushed = upstream.send(chunk);
    this.#bodySent(upstream, done, flushed);
  }

  /**
   * requestData sends request payload upstream from a codec that has no HTTP/1.1 framing (HTTP/2,
   * `node:http`): chunked when the length is not known. requestDataEnd ends it.
   */
  requestData(chunk: Buffer): void {
    const h2 = this.#h2;
    if (h2 !== undefined) {
      h2.stream.write(chunk);
      this.#h2BodySent(h2, false);
      return;
    }
    const upstream = this.#upstream;
    if (upstream === undefined || chunk.length === 0) return;
    let flushed: boolean;
    if (this.#req!.bodyLength === -1) flushed = upstream.sendChunk(chunk);
    else flushed = upstream.send(chunk);
    this.#bodySent(upstream, false, flushed);
  }

  requestDataEnd(): void {
    const h2 = this.#h2;
    if (h2 !== undefined) {
      this.#h2BodySent(h2, true);
      return;
    }
    const upstream = this.#upstream;
    if (upstream === undefined) return;
    if (this.#req!.bodyLength === -1) upstream.sendLastChunk();
    this.#bodySent(upstream, true, true);
  }

  /** onData receives request payload the chunked decoder found, for an HTTP/2 upstream. */
  onData(data: Buffer): void {
    this.#h2?.stream.write(data);
  }

  #h2BodySent(h2: H2UpstreamRequest, done: boolean): void {
    if (!h2.responded) h2.deadline = Date.now() + this.timeouts.upstreamResponseHeadMs;
    if (done) {
      this.#requestDone = true;
      this.#bodyComplete = true;
      h2.stream.end();
      return;
    }
    if (h2.stream.writableNeedDrain) this.#down.pauseRequestBody();
  }

  #bodySent(upstream: UpstreamConnection, done: boolean, flushed: boolean): void {
    if (this.#res === undefined) upstream.deadline = Date.now() + this.timeouts.upstreamResponseHeadMs;
    if (done) {
      this.#requestDone = true;
      this.#bodyComplete = true;
      return;
    }
    if (!flushed) this.#down.pauseRequestBody();
  }

  /** onClientDrain resumes the upstream once the client took what was written. */
  onClientDrain(): void {
    if (this.#state === FORWARDING && this.#responseStarted) {
      if (this.#encoder !== undefined) this.#encoder.resume();
      else {
        this.#upstream?.resume();
        this.#h2?.stream.resume();
      }
    } else if (this.#state === TUNNEL) this.#upstream?.resume();
  }

  /** tunnelToUpstream passes client bytes of a tunnel on; false when the upstream is full. */
  tunnelToUpstream(chunk: Buffer): boolean {
    const upstream = this.#upstream;
    if (upstream === undefined) return true;
    return upstream.send(chunk);
  }

  /** endTunnel half-closes the upstream side of a tunnel the client ended. */
  endTunnel(): void {
    this.#upstream?.endOutput();
  }

  /**
   * abort ends an exchange the client gave up on (or that a codec closes): the upstream connection is let
   * go (kept when that is safe) and an open exchange is reported, as 499 or with `cause`.
   */
  abort(cause?: PorticoProxyError): void {
    const phase = this.#phase();
    this.#dropEncoder();
    if (cause === undefined) this.#abandonUpstream(phase);
    else this.#releaseUpstream(false);
    if (this.#open) {
      const error = cause ?? CLIENT_ABORTED;
      const status = error === CLIENT_ABORTED ? 499 : (this.#res?.status ?? error.status);
      this.#report(status, error, phase);
    }
    this.#endRequest();
    this.#state = IDLE;
  }

  /**
   * fail ends the exchange with `error`: answered with its status when no response has started, cut
   * short otherwise. Codecs call it for errors of their own (a malformed body, a slow client).
   */
  fail(error: PorticoProxyError): void {
    this.#releaseUpstream(false);
    this.#dropEncoder();
    if (this.#responseStarted) {
      this.abort(error);
      this.#down.abort(error);
      return;
    }
    if (this.#answeredWithPage(error.status, error)) return;
    this.#ctx.counters.errors++;
    this.#report(error.status, error);
    this.#state = IDLE;
    this.#down.fail(error, false);
  }

  // ---- upstream selection --------------------------------------------------------------------

  /** #connect picks an endpoint (or uses `endpoint` on a stale-connection retry) and gets a connection. */
  #connect(endpoint: EndpointState | undefined): void {
    const fresh = endpoint !== undefined;
    let target = endpoint;
    if (target === undefined) {
      const service = this.#service!;
      const choice =
        this.#tried.length >= MAX_CONNECT_ATTEMPTS + this.#retries
          ? undefined
          : service.choose(this, this.#tried);
      target = choice?.endpoint;
      if (target === undefined) {
        const code = this.#tried.length === 0 ? 'PORTICO_NO_ENDPOINT' : 'PORTICO_UPSTREAM_CONNECT';
        this.fail(new PorticoProxyError(code, 'no endpoint answered'));
        return;
      }
      if (choice!.setCookie !== undefined) this.#setCookie = choice!.setCookie;
      this.#tried.push(target);
    }
    this.#endpoint = target;
    target.active++;
    if (this.#service!.config.protocol === 'http2') {
      this.#sendH2(target);
      return;
    }
    const upstream = this.#ctx.pool.acquire(target, this, fresh);
    this.#upstream = upstream;
    if (upstream.connected) {
      this.#connectMs = 0;
      this.#send(upstream);
    } else {
      this.#connectStartedAt = Date.now();
      upstream.deadline = this.#connectStartedAt + this.timeouts.upstreamConnectMs;
    }
  }

  /** #listenerServes says whether the client's listener serves `host` (it does unless it lists hostnames). */
  #listenerServes(host: string, snapshot: Snapshot): boolean {
    const hostnames = snapshot.listenerHostnames.get(this.#down.client.listener);
    return hostnames === undefined || hostnames.matches(host);
  }

  // ---- RequestKeys and MatchInput: what hash policies, affinity and route conditions read --------

  get listener(): string {
    return this.#down.client.listener;
  }

  get method(): string {
    return this.#req!.method;
  }

  clientAddress(): string {
    return this.#client;
  }

  path(): string {
    return this.#req!.path;
  }

  query(name: string): string | undefined {
    return queryFrom(this.#req!.target, name);
  }

  header(name: string): string | undefined {
    return this.#fieldValues(name, ', ');
  }

  cookie(name: string): string | undefined {
    return cookieFrom(this.#fieldValues('cookie', '; '), name);
  }

  /** #fieldValues joins the values of every request field called `name` (lower case). */
  #fieldValues(name: string, separator: string): string | undefined {
    const req = this.#req!;
    return joinedValues(req.fields, req.buf, req.fieldsStart, req.headEnd, name, separator);
  }

  endpointOf(name: string): { readonly address: string; readonly port: number } | undefined {
    return this.#snapshot?.services.get(name)?.choose(this, []).endpoint;
  }

  requestFields(): string[] {
    const req = this.#req!;
    if (req.fields !== undefined) return [...req.fields];
    const list: string[] = [];
    const scan = fieldScan;
    scan.reset(req.buf, req.fieldsStart, req.headEnd, Number.MAX_SAFE_INTEGER, true);
    while (scan.next())
      list.push(req.buf.toString('latin1', scan.lineStart, scan.nameEnd).toLowerCase(), scan.value());
    return list;
  }

  responseHeader(name: string): string | undefined {
    const h2 = this.#h2Headers;
    if (h2 !== undefined) {
      const value = h2[name];
      return Array.isArray(value) ? value.join(', ') : value === undefined ? undefined : String(value);
    }
    const res = this.#res;
    if (res === undefined) return undefined;
    return joinedValues(res.fields, res.buf, res.fieldsStart, res.headEnd, name, ', ');
  }

  // ---- upstream side over HTTP/2 -------------------------------------------------------------

  /** #sendH2 sends the request as a stream on a pooled HTTP/2 session to `endpoint`. */
  #sendH2(endpoint: EndpointState): void {
    endpoint.requests++;
    this.#state = FORWARDING;
    this.#requestDone = false;
    this.#connectMs = 0;
    this.#sentAt = Date.now();
    const held = this.#heldBody;
    const bodyless = this.#bodyComplete && (held === undefined || held.length === 0);
    let h2: H2UpstreamRequest;
    try {
      h2 = new H2UpstreamRequest(
        this.#ctx.h2pool,
        this.#ctx.sweeper,
        endpoint,
        h2UpstreamRequestHeaders(this.#req!, this.#upstreamHead, this.#lines, endpoint),
        bodyless,
        this,
        this.timeouts.upstreamResponseHeadMs,
        this.timeouts.upstreamIdleMs,
      );
    } catch (error) {
      endpoint.active--;
      this.fail(new PorticoProxyError('PORTICO_BAD_REQUEST', (error as Error).message));
      return;
    }
    this.#h2 = h2;
    if (this.mirrors !== undefined) {
      const head = this.#upstreamHead;
      this.#sendMirrors(
        upstreamRequestPlan(this.#req!, head.target, this.#lines, head.host, head.removed),
        held,
      );
    }
    this.#sentBody = this.#bodyComplete ? held : undefined;
    if (bodyless) this.#requestDone = true;
    else if (held !== undefined && held.length > 0) this.requestBody(held, this.#bodyComplete);
    else if (this.#bodyComplete) this.#h2BodySent(h2, true);
    this.#down.startRequestBody();
  }

  /**
   * #sendMirrors sends a copy of the request (its head as sent upstream, and its body when that is all
   * in hand) to an endpoint of each mirror service, once per exchange; a request whose body is still
   * coming is not copied, nor to a mirror service that speaks HTTP/2 or has no endpoint.
   */
  #sendMirrors(plan: HeadPlan, held: Buffer | undefined): void {
    const names = this.mirrors!;
    this.mirrors = undefined;
    if (!this.#bodyComplete) return;
    let bytes: Buffer | undefined;
    for (const name of names) {
      const service = this.#snapshot!.services.get(name);
      if (service === undefined || service.config.protocol === 'http2') continue;
      const endpoint = service.choose(this, []).endpoint;
      if (endpoint === undefined) continue;
      bytes ??= held === undefined ? headBytes(plan) : Buffer.concat([headBytes(plan), held]);
      new MirrorRequest(
        this.#ctx.pool,
        endpoint,
        bytes,
        this.#req!.method,
        this.timeouts.upstreamConnectMs,
        this.timeouts.upstreamResponseHeadMs,
      );
    }
  }

  onH2Response(request: H2UpstreamRequest, headers: IncomingHttpHeaders, ended: boolean): void {
    if (request !== this.#h2) return;
    const status = Number(headers[':status']);
    const service = this.#service!;
    const now = Date.now();
    this.#ttfbMs = now - this.#sentAt;
    request.endpoint.recordLatency(this.#ttfbMs, now);
    service.state.stats.ttfb.observe(this.#ttfbMs);
    if (status >= 500) service.recordFailure(request.endpoint);
    else service.recordSuccess(request.endpoint);
    if (status >= 400 && this.#hasPage(status)) {
      this.#res = listResponseHead(status, [], 0, true);
      this.#releaseUpstream(false); // the stream is reset: its body is not wanted
      this.#answeredWithPage(status, undefined);
      return;
    }
    const head = this.#responseHead;
    head.reset();
    this.#h2Headers = headers;
    try {
      for (const filter of this.#route!.policy.filters.response) filter.response!(this, head, status);
    } catch (error) {
      this.#h2Failed(asProxyError(error));
      return;
    } finally {
      this.#h2Headers = undefined;
    }
    const { fields, length } = h2ResponseFields(headers, head);
    let lines = this.#snapshot!.forwarding.via && !head.manages('via') ? 'via: 1.1 portico\r\n' : '';
    if (this.#setCookie !== undefined) lines += `set-cookie: ${this.#setCookie}\r\n`;
    lines += head.lines;
    const bodyless = ended || this.#req!.method === 'HEAD' || status === 204 || status === 304;
    const encode = this.responseCoding !== undefined && !bodyless;
    const res = listResponseHead(status, fields, encode ? -1 : length, bodyless);
    this.#res = res;
    this.#responseStarted = true;
    if (encode) this.#encoder = new ResponseEncoder(this.responseCoding!, this, length >= 0 ? length : -2);
    const flushed = this.#down.sendResponseHead(res, lines, EMPTY, 0, 0, ended);
    if (!flushed) {
      if (encode) this.#encoder!.pause();
      else request.stream.pause();
    }
  }

  onH2Data(request: H2UpstreamRequest, chunk: Buffer): void {
    if (request !== this.#h2 || this.#res === undefined) return;
    this.#h2Bytes += chunk.length;
    const encoder = this.#encoder;
    if (encoder !== undefined) {
      if (!encoder.write(chunk)) request.stream.pause();
    } else if (!this.#down.sendResponseBody(chunk)) request.stream.pause();
  }

  onH2Trailers(request: H2UpstreamRequest, trailers: IncomingHttpHeaders): void {
    if (request !== this.#h2) return;
    this.#trailers = h2ResponseFields(trailers, undefined).fields;
  }

  onH2Drain(request: H2UpstreamRequest): void {
    if (request === this.#h2 && !this.#requestDone) this.#down.resumeRequestBody();
  }

  onH2End(request: H2UpstreamRequest): void {
    if (request !== this.#h2) return;
    this.#h2 = undefined;
    request.endpoint.active--;
    if (this.#encoder !== undefined) {
      this.#encoder.end(); // the exchange completes when the last compressed bytes are out (onEncodedEnd)
      return;
    }
    this.#complete(this.#trailers);
  }

  onH2Failure(request: H2UpstreamRequest, timedOut: boolean): void {
    if (request !== this.#h2) return;
    this.#h2 = undefined;
    const endpoint = request.endpoint;
    endpoint.active--;
    this.#service!.recordFailure(endpoint);
    if (this.#responseStarted) {
      this.fail(timedOut ? UPSTREAM_STALLED : UPSTREAM_TRUNCATED);
      return;
    }
    if (!timedOut && !request.sessionConnected && this.#pendingIsReplayable() && this.#requestDone) {
      this.#state = CONNECTING;
      this.#heldBody = this.#sentBody;
      this.#connect(undefined); // the session never connected: nothing was sent, try another endpoint
      return;
    }
    this.fail(
      timedOut
        ? new PorticoProxyError('PORTICO_UPSTREAM_TIMEOUT', 'upstream response timeout')
        : new PorticoProxyError('PORTICO_UPSTREAM_RESET', 'upstream reset the stream before responding'),
    );
  }

  #h2Failed(error: PorticoProxyError): void {
    this.#releaseUpstream(false);
    this.fail(error);
  }

  // ---- upstream side (the HTTP/1.1 upstream codec) --------------------------------------------

  onUpstreamConnect(upstream: UpstreamConnection): void {
    if (upstream !== this.#upstream) return;
    this.#connectMs = Date.now() - this.#connectStartedAt;
    this.#send(upstream);
  }

  #send(upstream: UpstreamConnection): void {
    upstream.requests++;
    upstream.endpoint.requests++;
    this.#reusedUpstream = upstream.requests > 1;
    this.#state = FORWARDING;
    this.#requestDone = false;
    this.#sentAt = Date.now();
    // The response-head timeout runs from when the whole request is sent; while the body streams, each
    // piece written restarts it, so a stuck upstream is still noticed.
    upstream.deadline = this.#sentAt + this.timeouts.upstreamResponseHeadMs;
    upstream.resume();
    const held = this.#heldBody;
    const head = this.#upstreamHead;
    const plan = upstreamRequestPlan(this.#req!, head.target, this.#lines, head.host, head.removed);
    upstream.sendHead(plan, held, 0, held === undefined ? 0 : held.length);
    if (this.mirrors !== undefined) this.#sendMirrors(plan, held);
    this.#sentBody = this.#bodyComplete ? held : undefined;
    if (this.#bodyComplete) {
      this.#requestDone = true;
      if (this.#req!.fields !== undefined && this.#req!.bodyLength === -1) upstream.sendLastChunk();
    }
    this.#down.startRequestBody();
  }

  onUpstreamData(upstream: UpstreamConnection, chunk: Buffer): boolean {
    if (upstream !== this.#upstream) return true;
    if (this.#state === TUNNEL) {
      if (!this.#down.tunnelToClient!(chunk)) upstream.pause();
      return this.#down.outputIdle;
    }
    if (this.#res === undefined) {
      this.#readResponseHead(upstream, chunk);
      return false; // a head kept whole, or sent with part of the body: not worth tracking
    }
    // The body bytes left in one write, unless a compressor (read before the response may end and reset
    // it) or a pending write holds them.
    const encoder = this.#encoder;
    this.#relayBody(upstream, chunk, 0);
    return encoder === undefined && this.#down.outputIdle;
  }

  #readResponseHead(upstream: UpstreamConnection, chunk: Buffer): void {
    const buf = this.#resHead === undefined ? chunk : Buffer.concat([this.#resHead, chunk]);
    const end = buf.indexOf(
      CRLFCRLF,
      this.#resHead === undefined ? 0 : Math.max(0, this.#resHead.length - 3),
    );
    if (end < 0) {
      if (buf.length > this.#snapshot!.limits.maxResponseHeadBytes) {
        this.#upstreamFailed(
          new PorticoProxyError('PORTICO_UPSTREAM_BAD_RESPONSE', 'response head too large'),
        );
      } else if (buf.indexOf(LFLF) >= 0) {
        this.#upstreamFailed(
          new PorticoProxyError('PORTICO_UPSTREAM_BAD_RESPONSE', 'response head lines must end with CRLF'),
        );
      } else {
        this.#resHead = buf;
      }
      return;
    }
    this.#resHead = undefined;
    const req = this.#req!;
    const res = parseResponseHead(buf, 0, end, req.method);
    if (res instanceof PorticoProxyError) {
      this.#upstreamFailed(res);
      return;
    }
    if (res.status < 200) {
      if (res.status === 101) {
        if (
          req.upgrade === undefined ||
          req.upgrade.includes('h2c') ||
          res.upgrade === undefined ||
          this.#down.startTunnel === undefined
        ) {
          this.#upstreamFailed(
            new PorticoProxyError('PORTICO_UPSTREAM_BAD_RESPONSE', 'unrequested protocol switch'),
          );
        } else {
          this.#startTunnel(upstream, res, buf, end + 4);
        }
        return;
      }
      if (req.version === 11 && (res.status !== 100 || req.expectContinue)) this.#down.sendInterim(res);
      if (end + 4 < buf.length) this.#readResponseHead(upstream, buf.subarray(end + 4));
      return;
    }
    upstream.deadline = 0;
    this.#res = res;
    const service = this.#service!;
    const now = Date.now();
    this.#ttfbMs = now - this.#sentAt;
    upstream.endpoint.recordLatency(this.#ttfbMs, now);
    service.state.stats.ttfb.observe(this.#ttfbMs);
    if (res.status >= 500) service.recordFailure(upstream.endpoint);
    else service.recordSuccess(upstream.endpoint);
    if (res.status >= 400 && this.#hasPage(res.status)) {
      this.#upstreamTainted = true; // its body is not read: the connection cannot carry another request
      this.#releaseUpstream(false);
      this.#answeredWithPage(res.status, undefined);
      return;
    }
    const framer = this.#resFramer;
    const trailers = this.#responseTrailerLimits;
    trailers.maxFields = this.#snapshot!.limits.maxHeaderCount;
    trailers.maxBytes = this.#snapshot!.limits.maxResponseHeadBytes - end;
    framer.reset(res.bodyLength, false, trailers);
    const bodyStart = end + 4;
    const bodyEnd = bodyStart < buf.length ? framer.consume(buf, bodyStart) : bodyStart;
    if (bodyEnd < 0) {
      this.#upstreamFailed(framer.error!);
      return;
    }
    let lines: string;
    try {
      lines = this.#responseLines(res);
    } catch (error) {
      this.#upstreamFailed(asProxyError(error));
      return;
    }
    this.#responseStarted = true;
    let flushed: boolean;
    const coding = this.responseCoding;
    if (coding !== undefined && res.bodyLength !== 0) {
      if (framer.done && bodyEnd - bodyStart <= SYNC_COMPRESSION_MAX_BYTES) {
        // The whole body came with the head: compressed at once and sent with its length, one write
        // (a compressing stream would cost a thread-pool round trip and more than the compression).
        const body = compressWhole(coding, buf, bodyStart, bodyEnd, res.bodyLength === -1);
        const head = listResponseHead(res.status, fieldListOf(res), body.length, false);
        this.#encodedBytes = body.length;
        flushed = this.#down.sendResponseHead(head, lines, body, 0, body.length, true);
      } else {
        const encoder = new ResponseEncoder(coding, this, res.bodyLength);
        this.#encoder = encoder;
        const head = listResponseHead(res.status, fieldListOf(res), -1, false);
        if (!this.#down.sendResponseHead(head, lines, EMPTY, 0, 0, false)) encoder.pause();
        flushed = bodyEnd === bodyStart || encoder.write(buf.subarray(bodyStart, bodyEnd));
      }
    } else flushed = this.#down.sendResponseHead(res, lines, buf, bodyStart, bodyEnd, framer.done);
    if (bodyEnd < buf.length) this.#upstreamTainted = true; // bytes beyond the response: never reuse
    if (framer.done) this.#finishExchange();
    else if (this.#upstream === upstream) {
      upstream.deadline = Date.now() + this.timeouts.upstreamIdleMs;
      if (!flushed) upstream.pause();
    }
  }

  /** #responseLines runs the response filters and returns the lines to add to the response head. */
  #responseLines(res: ResponseHead): string {
    const head = this.#responseHead;
    head.reset();
    for (const filter of this.#route!.policy.filters.response) filter.response!(this, head, res.status);
    let lines = this.#snapshot!.forwarding.via && !head.manages('via') ? 'via: 1.1 portico\r\n' : '';
    if (this.#setCookie !== undefined) lines += `set-cookie: ${this.#setCookie}\r\n`;
    for (const names of head.removed)
      dropNamedFields(res.buf, res.fieldsStart, res.headEnd, names, res.drop, false);
    return lines + head.lines;
  }

  #relayBody(upstream: UpstreamConnection, buf: Buffer, start: number): void {
    const framer = this.#resFramer;
    if (start < buf.length) {
      const n = framer.consume(buf, start);
      if (n < 0) {
        this.fail(framer.error!); // the client has part of a response; only cutting it short tells it something broke
        return;
      }
      if (n > start) {
        const bytes = start === 0 && n === buf.length ? buf : buf.subarray(start, n);
        const encoder = this.#encoder;
        const flushed = encoder === undefined ? this.#down.sendResponseBody(bytes) : encoder.write(bytes);
        if (!flushed && !framer.done) upstream.pause();
      }
      if (n < buf.length) this.#upstreamTainted = true; // bytes beyond the response: never reuse
    }
    if (framer.done) this.#finishExchange();
    else upstream.deadline = Date.now() + this.timeouts.upstreamIdleMs;
  }

  /** #startTunnel forwards a 101 and from then on splices bytes both ways. */
  #startTunnel(upstream: UpstreamConnection, res: ResponseHead, buf: Buffer, rest: number): void {
    this.#state = TUNNEL;
    this.#res = res;
    this.#responseStarted = true;
    this.#upstreamTainted = true; // never pooled again
    upstream.deadline = 0;
    this.#report(101, undefined);
    this.#down.startTunnel!(res, `connection: upgrade\r\nupgrade: ${res.upgrade}\r\n`, buf, rest);
  }

  onUpstreamDrain(upstream: UpstreamConnection): void {
    if (upstream !== this.#upstream) return;
    if ((this.#state === FORWARDING && !this.#requestDone) || this.#state === TUNNEL)
      this.#down.resumeRequestBody();
  }

  onUpstreamTimeout(upstream: UpstreamConnection): void {
    if (upstream !== this.#upstream) return;
    if (!upstream.connected) {
      this.#service!.recordFailure(upstream.endpoint);
      this.#releaseUpstream(false);
      this.#connect(undefined);
    } else if (this.#res === undefined) {
      this.#service!.recordFailure(upstream.endpoint);
      this.#releaseUpstream(false);
      if (this.#retryElsewhere()) return;
      this.#upstreamFailed(new PorticoProxyError('PORTICO_UPSTREAM_TIMEOUT', 'upstream response timeout'));
    } else if (this.#state === FORWARDING) {
      this.fail(UPSTREAM_STALLED); // the response stalled for timeouts.upstreamIdleMs mid-body
    }
  }

  onUpstreamClose(upstream: UpstreamConnection, _error: Error | undefined): void {
    if (upstream !== this.#upstream) return;
    const endpoint = upstream.endpoint;
    this.#upstream = undefined;
    endpoint.active--;
    if (this.#state === TUNNEL) {
      this.#down.tunnelEnded!(); // the upstream ended the tunnel: end the client side after what was written
      return;
    }
    const service = this.#service;
    if (!upstream.connected) {
      service?.recordFailure(endpoint);
      if (this.#state === CONNECTING) this.#connect(undefined);
      return;
    }
    if (this.#res === undefined && this.#resHead === undefined) {
      const canReplay =
        this.#reusedUpstream && !this.#retriedStale && this.#requestDone && this.#pendingIsReplayable();
      if (canReplay) {
        this.#retriedStale = true; // a pooled connection the upstream had closed: retry once, fresh
        this.#state = CONNECTING;
        this.#heldBody = this.#sentBody;
        this.#connect(endpoint);
        return;
      }
      service?.recordFailure(endpoint);
      if (this.#retryElsewhere()) return;
      this.#upstreamFailed(
        new PorticoProxyError('PORTICO_UPSTREAM_RESET', 'upstream closed before responding'),
      );
      return;
    }
    if (this.#res !== undefined && this.#res.bodyLength === -2) {
      this.#finishExchange(); // a close-delimited response ends here
      return;
    }
    service?.recordFailure(endpoint);
    if (!this.#responseStarted) {
      this.#upstreamFailed(new PorticoProxyError('PORTICO_UPSTREAM_RESET', 'upstream closed mid-head'));
    } else {
      this.fail(UPSTREAM_TRUNCATED); // the client must see the response cut short
    }
  }

  /**
   * #retryElsewhere sends an idempotent request again to another endpoint, when the service configures
   * retries, nothing has reached the client, the whole request is in hand, and the retry budget allows.
   */
  #retryElsewhere(): boolean {
    const service = this.#service!;
    if (
      this.#retries >= (this.retryAttempts ?? service.config.retries.attempts) ||
      this.#responseStarted ||
      !this.#requestDone ||
      !IDEMPOTENT.has(this.#req!.method) ||
      !this.#pendingIsReplayable() ||
      !service.mayRetry()
    ) {
      return false;
    }
    this.#retries++;
    service.state.retries++;
    service.state.retriesTotal++;
    this.#resHead = undefined;
    this.#state = CONNECTING;
    this.#heldBody = this.#sentBody;
    this.#connect(undefined);
    return true;
  }

  /** #pendingIsReplayable tells whether the whole request body is in hand to send again. */
  #pendingIsReplayable(): boolean {
    const req = this.#req!;
    return req.bodyLength === -2 || req.bodyLength === 0 || this.#sentBody !== undefined;
  }

  #upstreamFailed(error: PorticoProxyError): void {
    this.#upstreamTainted = true;
    this.fail(error);
  }

  #releaseUpstream(reuse: boolean): void {
    const h2 = this.#h2;
    if (h2 !== undefined) {
      this.#h2 = undefined;
      h2.endpoint.active--;
      h2.cancel();
    }
    const upstream = this.#upstream;
    if (upstream === undefined) return;
    this.#upstream = undefined;
    upstream.endpoint.active--;
    if (reuse) this.#ctx.pool.release(upstream);
    else upstream.destroy();
  }

  /**
   * #abandonUpstream lets go of the upstream connection of an exchange the client gave up in `phase`,
   * keeping it when that is safe, so a client that cancels requests (an HTTP/2 stream reset) does not
   * cost an upstream connection: one still opening carried nothing and is pooled; one whose request was
   * sent in full reads and discards a short response first (ResponseDrain). Any other is closed.
   */
  #abandonUpstream(phase: ExchangePhase): void {
    if (this.#h2 !== undefined) {
      this.#releaseUpstream(false); // a stream costs only its reset
      return;
    }
    const upstream = this.#upstream;
    if (upstream === undefined) return;
    if (phase === 'upstream-connect') {
      this.#releaseUpstream(true);
      return;
    }
    if (phase !== 'response-head' || !this.#requestDone || this.#upstreamTainted) {
      this.#releaseUpstream(false);
      return;
    }
    this.#upstream = undefined;
    upstream.endpoint.active--;
    new ResponseDrain(this.#ctx.pool, upstream, this.#req!.method, this.timeouts.upstreamResponseHeadMs);
  }

  // ---- ends of exchanges --------------------------------------------------------------------

  #finishExchange(): void {
    const res = this.#res!;
    const reuse = this.#requestDone && res.reusable && !this.#upstreamTainted;
    this.#releaseUpstream(reuse);
    if (this.#encoder !== undefined) {
      this.#encoder.end(); // the exchange completes when the last compressed bytes are out (onEncodedEnd)
      return;
    }
    this.#complete(undefined);
  }

  /** #complete reports the response and ends it at the client, with `trailers` (flat pairs) if any. */
  #complete(trailers: readonly string[] | undefined): void {
    this.#report(this.#res!.status, undefined);
    this.#state = IDLE;
    this.#down.responseComplete(trailers);
  }

  // ---- response compression (EncodedSink) ---------------------------------------------------

  onEncoded(encoder: ResponseEncoder, chunk: Buffer): void {
    if (encoder !== this.#encoder) return;
    this.#encodedBytes += chunk.length;
    if (!this.#down.sendResponseBody(chunk)) encoder.pause();
  }

  onEncoderDrain(encoder: ResponseEncoder): void {
    if (encoder !== this.#encoder) return;
    this.#upstream?.resume();
    this.#h2?.stream.resume();
  }

  onEncodedEnd(encoder: ResponseEncoder): void {
    if (encoder !== this.#encoder) return;
    this.#encoder = undefined;
    this.#complete(undefined); // trailers are not kept: they may describe the uncompressed body
  }

  onEncoderError(encoder: ResponseEncoder, error: Error): void {
    if (encoder !== this.#encoder) return;
    this.fail(new PorticoProxyError('PORTICO_COMPRESSION_FAILED', error.message));
  }

  /** #dropEncoder stops compressing (the exchange ends early). */
  #dropEncoder(): void {
    const encoder = this.#encoder;
    if (encoder === undefined) return;
    this.#encoder = undefined;
    encoder.destroy();
  }

  #reset(): void {
    this.#req = undefined;
    this.#res = undefined;
    this.#resHead = undefined;
    this.#rule = undefined;
    this.#route = undefined;
    this.#service = undefined;
    this.#setCookie = undefined;
    this.#requestId = undefined;
    this.#trace = undefined;
    this.#client = '';
    this.#connectMs = -1;
    this.#ttfbMs = -1;
    this.#endpoint = undefined;
    this.#sentBody = undefined;
    this.#heldBody = undefined;
    this.#bodyComplete = false;
    this.#responseStarted = false;
    this.#upstreamTainted = false;
    this.#requestDone = false;
    this.#retries = 0;
    this.#retriedStale = false;
    this.#tried.length = 0;
    this.#lines = '';
    this.#h2Decoder = undefined;
    this.#h2Bytes = 0;
    this.#trailers = undefined;
    this.#dropEncoder();
    this.responseCoding = undefined;
    this.#encodedBytes = 0;
    this.#state = IDLE;
  }

  /** #endRequest takes the request out of its service's requests (and retries) in flight. */
  #endRequest(): void {
    if (!this.#counted) return;
    this.#counted = false;
    const state = this.#service!.state;
    state.active--;
    state.retries -= this.#retries;
    this.#retries = 0;
  }

  /** #phase names where the exchange is, for its outcome. */
  #phase(): ExchangePhase {
    switch (this.#state) {
      case CONNECTING:
        return 'upstream-connect';
      case FORWARDING:
        if (!this.#requestDone) return 'request-body';
        return this.#res === undefined ? 'response-head' : 'response-body';
      case TUNNEL:
        return 'tunnel';
      case AUTHORIZING:
        return 'authorization';
      case RENDERING:
        return 'complete';
      default:
        return 'complete';
    }
  }

  /**
   * #report publishes the exchange's outcome and counts it. Errors of a codec before any request head
   * (a malformed head, a head timeout) are reported too, with no request.
   */
  #report(status: number, error: PorticoProxyError | undefined, phase: ExchangePhase = 'complete'): void {
    this.#open = false;
    if (this.deadline !== 0) {
      this.deadline = 0;
      this.#ctx.sweeper.delete(this);
    }
    this.#endRequest();
    const route = this.#route;
    if (route?.policy.filters.hasDone) {
      const request = route.policy.filters.request;
      for (let i = 0; i < this.#passed; i++) request[i]!.done?.(this);
      this.#passed = 0; // once per exchange
    }
    if (route !== undefined) {
      const ms = Date.now() - this.#startedAt;
      const statusClass = status >= 100 && status < 600 ? (status / 100) | 0 : 0;
      route.policy.stats.responses[statusClass]!++;
      route.policy.stats.duration.observe(ms);
      const stats = this.#service?.state.stats;
      if (stats !== undefined) {
        stats.responses[statusClass]!++;
        stats.duration.observe(ms);
      }
    }
    if (status >= 500) this.#ctx.counters.responses5xx++;
    const channel = this.#ctx.requestChannel;
    if (!channel.hasSubscribers) return;
    const req = this.#req;
    const secure = this.#down.client.secure;
    const q = req === undefined ? -1 : req.target.indexOf('?');
    channel.publish({
      client: this.#client === '' ? this.#down.client.peer : this.#client,
      requestId: this.#requestId,
      method: req?.method,
      host: req?.host,
      path: req?.path,
      status,
      route: route?.policy.name,
      service: this.#service?.name,
      endpoint: this.#endpoint?.key,
      errorCode: error?.code,
      phase,
      durationMs: this.#startedAt === 0 ? 0 : Date.now() - this.#startedAt,
      connectMs: this.#connectMs,
      ttfbMs: this.#ttfbMs,
      requestBytes: this.#down.requestBodyBytes,
      responseBytes:
        this.responseCoding !== undefined
          ? this.#encodedBytes
          : this.#res?.fields === undefined
            ? this.#resFramer.bodyBytes
            : this.#h2Bytes,
      query: req === undefined ? undefined : q < 0 ? '' : req.target.slice(q + 1),
      protocol: this.#down.protocol,
      userAgent: req === undefined ? undefined : this.#fieldValues('user-agent', ', '),
      referer: req === undefined ? undefined : this.#fieldValues('referer', ', '),
      listener: this.#down.client.listener,
      trace: this.#trace,
      tls:
        secure === undefined
          ? undefined
          : { version: secure.version, cipher: secure.cipher, sni: secure.servername },
    });
  }

  /** onDeadline ends an exchange that ran past `timeouts.requestMs`: 504, or cut short once answering. */
  onDeadline(): void {
    this.deadline = 0;
    if (!this.#open || this.#state === TUNNEL) return;
    this.fail(REQUEST_TIMEOUT);
  }

  /**
   * failHead answers a request whose head could not be read (malformed, too large, too slow): there is no
   * request to route, so only the error is reported.
   */
  failHead(error: PorticoProxyError): void {
    this.#reset();
    this.#startedAt = 0;
    this.#resFramer.reset(0, false);
    this.fail(error);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * SYNC_COMPRESSION_MAX_BYTES is the largest body compressed at once on the event loop when it arrived
 * whole with its head (about 0.5 ms of brotli quality 4); larger or later bodies stream through zlib.
 */
const SYNC_COMPRESSION_MAX_BYTES = 64 * 1024;

/**
 * compressWhole compresses the whole body `buf[start, end)`, framed in HTTP/1.1 chunks when `chunked`
 * (the framer validated them), else plain.
 */
function compressWhole(
  coding: ContentCoding,
  buf: Buffer,
  start: number,
  end: number,
  chunked: boolean,
): Buffer {
  if (!chunked) return coding.compress(buf.subarray(start, end));
  const parts: Buffer[] = [];
  new ChunkedDecoder().decode(buf.subarray(start, end), { onData: (data) => parts.push(data) });
  return coding.compress(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
}

/**
 * joinedValues joins the values of every field called `name` (lower case) of a head: from its field
 * list when it has one, else from its bytes `buf[start, end)`.
 */
function joinedValues(
  fields: readonly string[] | undefined,
  buf: Buffer,
  start: number,
  end: number,
  name: string,
  separator: string,
): string | undefined {
  let value: string | undefined;
  if (fields !== undefined) {
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i] !== name) continue;
      value = value === undefined ? fields[i + 1] : `${value}${separator}${fields[i + 1]}`;
    }
    return value;
  }
  const scan = fieldScan;
  scan.reset(buf, start, end, Number.MAX_SAFE_INTEGER, true);
  while (scan.next()) {
    if (scan.nameEnd - scan.lineStart !== name.length) continue;
    if (buf.toString('latin1', scan.lineStart, scan.nameEnd).toLowerCase() !== name) continue;
    value = value === undefined ? scan.value() : `${value}${separator}${scan.value()}`;
  }
  return value;
}

/** asProxyError turns what a filter threw into the error the client is answered with. */
function asProxyError(error: unknown): PorticoProxyError {
  return error instanceof PorticoProxyError
    ? error
    : new PorticoProxyError('PORTICO_UNSAFE_FIELD', error instanceof Error ? error.message : String(error));
}

/** hostName is a Host value without its port, in lower case. */
function hostName(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':');
  return (end <= 0 ? host : host.slice(0, end)).toLowerCase();
}
