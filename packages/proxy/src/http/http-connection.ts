import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { RedirectConfig, TimeoutsConfig } from '@portico/config';
import type { Rule } from '@portico/router';
import { cookieFrom, queryFrom, type RequestKeys } from '../balancer/request-keys.ts';
import type { Deadline } from '../deadline-sweeper.ts';
import { type ExchangePhase, type RequestStart, requestStartChannel } from '../diagnostics.ts';
import { PorticoProxyError } from '../proxy-error.ts';
import type { RoutePolicy } from '../route-policy.ts';
import type { RouteTarget, Snapshot } from '../snapshot.ts';
import type { EndpointState } from '../upstream/endpoint-state.ts';
import { ResponseDrain } from '../upstream/response-drain.ts';
import type { UpstreamConnection, UpstreamOwner } from '../upstream/upstream-connection.ts';
import { writeHead } from './assemble-head.ts';
import { BodyFramer, type TrailerLimits } from './body-framer.ts';
import type { ConnectionContext } from './connection-context.ts';
import { dropNamedFields, FieldCursor } from './field-cursor.ts';
import * as F from './field-names.ts';
import { downstreamResponsePlan, upstreamRequestPlan, withoutFields } from './forward-head.ts';
import { localResponse } from './local-response.ts';
import { redirectResponse } from './redirect.ts';
import { parseRequestHead, type RequestHead } from './request-head.ts';
import { parseResponseHead, type ResponseHead } from './response-head.ts';
import { rewriteTarget } from './rewrite-target.ts';

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const LFLF = Buffer.from('\n\n', 'latin1');

/** States of a downstream connection. */
const IDLE = 0; // between requests, waiting for a first byte
const HEAD = 1; // reading a request head
const CONNECTING = 2; // head read, waiting for an upstream connection; client reads paused
const FORWARDING = 3; // request and response in flight
const LINGER = 4; // answered with an error; discarding input until the client closes or a deadline
const TUNNEL = 5; // after a 101: bytes spliced both ways until either side closes
const CLOSED = 6;

/** TO_HTTPS redirects to the same host and path over HTTPS on the default port. */
const TO_HTTPS: RedirectConfig = { scheme: 'https' };
/** ACME_CHALLENGE_PATH is left out of a listener's HTTPS redirect, so HTTP-01 certificate challenges pass. */
const ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/';
/** LINGER_MS is how long input is discarded after an error response before the socket is destroyed. */
const LINGER_MS = 2_000;
/** MAX_CONNECT_ATTEMPTS bounds the endpoints tried when connections fail before any byte is sent. */
const MAX_CONNECT_ATTEMPTS = 3;
/** CLIENT_ABORTED ends an exchange the client gave up on (closed, reset, or half-closed mid-body). */
const CLIENT_ABORTED = new PorticoProxyError('PORTICO_CLIENT_ABORTED', 'client closed the connection');
/** UPSTREAM_TRUNCATED and UPSTREAM_STALLED end a response that had started: the client sees a close. */
const UPSTREAM_TRUNCATED = new PorticoProxyError('PORTICO_UPSTREAM_RESET', 'upstream closed mid-response');
const UPSTREAM_STALLED = new PorticoProxyError('PORTICO_UPSTREAM_TIMEOUT', 'upstream stalled mid-response');
/** RULE_IDS are the fields Portico reads that a route's request rules may still replace or remove. */
const RULE_IDS: ReadonlySet<number> = new Set([F.HOST, F.X_REQUEST_ID]);
/** IDEMPOTENT are the methods a configured retry may send again (RFC 9110 9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * HttpConnection is one client connection: it reads request heads, routes each request, streams it to an
 * upstream connection and streams the response back, one exchange at a time (pipelined requests wait in
 * `#pending` so responses stay in order). All handlers are bound once per connection; the per-request path
 * allocates only the parsed heads, the outgoing head buffers and a few small strings.
 */
export class HttpConnection implements Deadline, UpstreamOwner, RequestKeys {
  readonly socket: ClientSocket;
  deadline = 0;
  readonly #ctx: ConnectionContext;
  #state = IDLE;
  /** #head accumulates a request head that arrived in pieces. */
  #head: Buffer | undefined;
  /** #pending holds client bytes not yet handled: body bytes while connecting, or pipelined requests. */
  #pending: Buffer | undefined;
  #snapshot: Snapshot | undefined;
  #req: RequestHead | undefined;
  #route: RouteTarget | undefined;
  /** #target is the rewritten request target, when the route rewrites it. */
  #target: string | undefined;
  /** #host is the Host sent upstream instead of the client's, when the route sets one. */
  #host: string | undefined;
  /** #lines are the fields added upstream for this request: forwarding, route header rules, upgrade. */
  #lines = '';
  #upstream: UpstreamConnection | undefined;
  #endpoint: EndpointState | undefined;
  readonly #tried: EndpointState[] = [];
  readonly #reqFramer = new BodyFramer();
  readonly #resFramer = new BodyFramer();
  /** #trailerLimits is what the request's trailers may use of the head limits (reused per request). */
  readonly #trailerLimits: TrailerLimits = { maxFields: 0, maxBytes: 0 };
  /** #responseTrailerLimits is the same for the response's trailers. */
  readonly #responseTrailerLimits: TrailerLimits = { maxFields: 0, maxBytes: 0 };
  /** #peer (the PROXY-protocol client or the socket's peer) and #localPort describe the connection. */
  readonly #peer: string;
  readonly #localPort: number;
  /** #listener is the name of the listener that accepted the connection. */
  readonly #listener: string;
  /** #scheme is `https` on a connection Portico terminated TLS for. */
  readonly #scheme: 'http' | 'https';
  /** #tlsLines are the fields that carry the client's TLS details upstream (the client certificate's subject). */
  readonly #tlsLines: string;
  readonly #tlsDrop: ReadonlySet<string> | undefined;
  /** #secure is what TLS told about the connection (SNI, certificates), on a connection Portico terminated. */
  readonly #secure: SecureInfo | undefined;
  /** #forwarded is this connection's X-Forwarded-* lines, and #trusted its peer's trust, for snapshot `#forwardedVersion`. */
  #forwarded = '';
  #trusted = false;
  #forwardedVersion = -1;
  /** #client is the client's address after trust rules, for affinity and hashing. */
  #client = '';
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
  /** #requestId is the request's X-Request-Id, the client's or one Portico generated. */
  #requestId: string | undefined;
  /** #heldBody is the validated part of the body that arrived with the head, sent right after it. */
  #heldBody: Buffer | undefined;
  /** #sentBody is the whole body when it was sent in one piece with the head, so it can be replayed. */
  #sentBody: Buffer | undefined;
  #reusedUpstream = false;
  #retriedStale = false;
  #requestDone = false;
  #resHead: Buffer | undefined;
  #res: ResponseHead | undefined;
  #responseStarted = false;
  #upstreamTainted = false;
  #closeAfter = false;
  #clientPaused = false;
  #clientEnded = false;
  #startedAt = 0;
  /** #lastBodyAt is when the last piece of the request body arrived (ms since the epoch). */
  #lastBodyAt = 0;
  /** #exchangeOpen is true from a request's head until its outcome is reported. */
  #exchangeOpen = false;

  /** The connection starts reading `socket` at once. */
  constructor(socket: ClientSocket, ctx: ConnectionContext, options: ConnectionOptions = {}) {
    this.socket = socket;
    this.#ctx = ctx;
    this.#peer = options.origin?.address ?? clientAddress(socket);
    this.#localPort = options.localPort ?? socket.localPort ?? 0;
    this.#listener = options.listener ?? '';
    this.#scheme = options.secure === undefined ? 'http' : 'https';
    this.#tlsLines = options.secure?.lines ?? '';
    this.#tlsDrop = options.secure?.drop;
    this.#secure = options.secure;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('end', () => this.#onEnd());
    socket.on('error', () => this.#onClose());
    socket.on('close', () => this.#onClose());
    this.deadline = Date.now() + ctx.snapshot.timeouts.clientIdleMs;
    ctx.sweeper.add(this);
    if (options.initial !== undefined) this.#onData(options.initial);
  }

  /** idle tells whether the connection is between requests. */
  get idle(): boolean {
    return this.#state === IDLE;
  }

  /** drain asks the connection to close: now if idle, after the current response otherwise. */
  drain(): void {
    if (this.#state === IDLE) this.#destroy();
    else this.#closeAfter = true;
  }

  /** destroy closes the connection and any upstream it uses at once. */
  destroy(): void {
    this.#destroy();
  }

  // ---- client side --------------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    switch (this.#state) {
      case IDLE:
      case HEAD:
        this.#readHead(chunk);
        return;
      case FORWARDING:
        if (!this.#requestDone) {
          this.#forwardBody(chunk);
          return;
        }
        this.#hold(chunk);
        return;
      case CONNECTING:
        this.#hold(chunk);
        return;
      case TUNNEL:
        this.#tunnelToUpstream(chunk);
        return;
      default:
        return; // LINGER, CLOSED: discard
    }
  }

  /** #pauseClient stops reading from the client (backpressure, or a pipelined request waiting). */
  #pauseClient(): void {
    if (this.#clientPaused) return;
    this.#clientPaused = true;
    this.socket.pause();
  }

  #resumeClient(): void {
    if (!this.#clientPaused) return;
    this.#clientPaused = false;
    this.socket.resume();
  }

  #hold(chunk: Buffer): void {
    this.#pending = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pauseClient();
  }

  #readHead(chunk: Buffer): void {
    const limits = this.#ctx.snapshot.limits;
    let buf = this.#head === undefined ? chunk : Buffer.concat([this.#head, chunk]);
    const searchFrom = this.#head === undefined ? 0 : Math.max(0, this.#head.length - 3);
    this.#head = undefined;
    if (this.#state === IDLE) {
      let skip = 0; // RFC 9112 2.2: ignore empty lines before a request line
      while (skip + 1 < buf.length && buf[skip] === 0x0d && buf[skip + 1] === 0x0a) skip += 2;
      if (skip > 0) buf = buf.subarray(skip);
      if (buf.length === 0) return;
      this.#state = HEAD;
      this.deadline = Date.now() + this.#ctx.snapshot.timeouts.clientHeadMs;
    }
    const end = buf.indexOf(CRLFCRLF, searchFrom);
    if (end < 0) {
      const lineFeed = buf.indexOf(0x0a);
      if ((lineFeed < 0 ? buf.length : lineFeed) > limits.maxRequestLineBytes) {
        this.#fail(new PorticoProxyError('PORTICO_URI_TOO_LONG', 'request line too long'));
      } else if (buf.length > limits.maxHeadBytes) {
        this.#fail(new PorticoProxyError('PORTICO_HEAD_TOO_LARGE', 'request head too large'));
      } else if (buf.indexOf(LFLF) >= 0) {
        this.#fail(new PorticoProxyError('PORTICO_BAD_REQUEST', 'head lines must end with CRLF'));
      } else {
        this.#head = buf;
      }
      return;
    }
    if (end > limits.maxHeadBytes) {
      this.#fail(new PorticoProxyError('PORTICO_HEAD_TOO_LARGE', 'request head too large'));
      return;
    }
    const snapshot = this.#ctx.snapshot;
    const parsing = snapshot.requestParsing.get(this.#listener) ?? snapshot.config.requestParsing;
    const req = parseRequestHead(buf, end, limits, parsing);
    if (req instanceof PorticoProxyError) {
      this.#fail(req);
      return;
    }
    this.#begin(req, buf, end + 4);
  }

  #begin(req: RequestHead, buf: Buffer, bodyStart: number): void {
    const snapshot = this.#ctx.snapshot;
    this.#reqFramer.reset(0, true); // this request's byte counts start at zero, however it ends
    this.#resFramer.reset(0, false);
    this.#snapshot = snapshot;
    this.#req = req;
    this.#startedAt = Date.now();
    this.#exchangeOpen = true;
    this.#ctx.counters.requests++;
    if (requestStartChannel.hasSubscribers) {
      const start: RequestStart = {
        listener: this.#listener,
        peer: this.#peer,
        method: req.method,
        host: req.host,
        path: req.path,
      };
      requestStartChannel.publish(start);
    }
    this.#pending = bodyStart < buf.length ? buf.subarray(bodyStart) : undefined;
    const hasBody = req.bodyLength === -1 || req.bodyLength > 0;
    if (!req.keepAlive || this.#clientEnded) this.#closeAfter = true;

    if (this.#scheme === 'http' && snapshot.httpsRedirects.size > 0) {
      const port = snapshot.httpsRedirects.get(this.#listener);
      if (port !== undefined && !req.path.startsWith(ACME_CHALLENGE_PATH)) {
        this.#redirect(req, port === 443 ? TO_HTTPS : { scheme: 'https', port }, hasBody);
        return;
      }
    }
    const sni = this.#secure?.servername;
    if (sni !== undefined && this.#misdirected(req.host, sni, snapshot)) {
      this.#answerLocally(
        new PorticoProxyError('PORTICO_MISDIRECTED', 'Host is not served by the certificate of the SNI'),
        hasBody,
      );
      return;
    }
    const rule = snapshot.routes.match(req.host, req.path);
    if (rule === undefined) {
      this.#answerLocally(new PorticoProxyError('PORTICO_NO_ROUTE', 'no route'), hasBody);
      return;
    }
    const route = rule.target;
    const policy = route.policy;
    this.#route = route;
    if (policy.httpsRedirect && this.#scheme === 'http') {
      this.#redirect(req, snapshot.toHttps, hasBody);
      return;
    }
    if (policy.redirect !== undefined) {
      this.#redirect(req, policy.redirect, hasBody);
      return;
    }
    const maxBody = policy.maxBodyBytes;
    if (maxBody > 0 && req.bodyLength > maxBody) {
      this.#fail(new PorticoProxyError('PORTICO_BODY_TOO_LARGE', 'body too large'));
      return;
    }
    const trailers = this.#trailerLimits;
    trailers.maxFields = snapshot.limits.maxHeaderCount - req.fieldCount;
    trailers.maxBytes = snapshot.limits.maxHeadBytes - req.headEnd;
    this.#reqFramer.reset(hasBody ? req.bodyLength : 0, true, trailers);
    this.#heldBody = undefined;
    const pending = this.#pending;
    if (pending !== undefined && hasBody) {
      // Body bytes that came with the head are validated before anything is sent upstream.
      const n = this.#reqFramer.consume(pending, 0);
      if (n < 0) {
        this.#fail(this.#reqFramer.error!);
        return;
      }
      if (maxBody > 0 && this.#reqFramer.bodyBytes > maxBody) {
        this.#fail(new PorticoProxyError('PORTICO_BODY_TOO_LARGE', 'body too large'));
        return;
      }
      this.#heldBody = n === pending.length ? pending : pending.subarray(0, n);
      this.#pending = n === pending.length ? undefined : pending.subarray(n);
    }
    const service = route.service;
    const pendingLimit = service.config.maxPendingRequests;
    if (pendingLimit > 0 && service.state.active >= pendingLimit) {
      this.#fail(new PorticoProxyError('PORTICO_NO_ENDPOINT', 'service at maxPendingRequests'));
      return;
    }
    service.state.active++;
    this.#counted = true;
    this.#retries = 0;
    this.#prepareUpstreamHead(req, snapshot, rule, policy);
    this.#state = CONNECTING;
    this.deadline = 0;
    this.#tried.length = 0;
    this.#retriedStale = false;
    this.#connect(undefined);
  }

  /** #prepareUpstreamHead decides the rewritten target and the lines added upstream for `req`. */
  #prepareUpstreamHead(
    req: RequestHead,
    snapshot: Snapshot,
    rule: Rule<RouteTarget>,
    policy: RoutePolicy,
  ): void {
    const forwarding = snapshot.forwarding;
    if (this.#forwardedVersion !== snapshot.version) {
      this.#forwardedVersion = snapshot.version;
      this.#trusted = forwarding.trusts(this.#peer);
      this.#forwarded =
        forwarding.connectionLines(this.#peer, this.#localPort, this.#scheme) + this.#tlsLines;
    }
    this.#client = forwarding.clientAddress(req, this.#trusted, this.#peer);
    let lines = forwarding.requestLines(
      req,
      this.#forwarded,
      this.#trusted,
      this.#peer,
      this.#localPort,
      this.#scheme,
    );
    if (this.#tlsDrop !== undefined)
      dropNamedFields(req.buf, req.fieldsStart, req.headEnd, this.#tlsDrop, req.drop, true);
    const headerRules = policy.requestHeaders;
    const managed = headerRules?.managed;
    if (req.requestId === undefined) {
      this.#requestId = randomUUID();
      lines += `x-request-id: ${this.#requestId}\r\n`;
    } else {
      this.#requestId = req.requestId;
    }
    if (headerRules !== undefined) {
      if (headerRules.drop.size > 0)
        dropNamedFields(req.buf, req.fieldsStart, req.headEnd, headerRules.drop, req.drop, true, RULE_IDS);
      if (managed!.size > 0) lines = withoutFields(lines, managed!);
      lines += headerRules.lines;
      this.#host = headerRules.host;
    }
    if (req.upgrade !== undefined && !req.upgrade.includes('h2c')) {
      lines += `connection: upgrade\r\nupgrade: ${req.upgrade}\r\n`;
    }
    this.#lines = lines;
    this.#target =
      policy.rewriteTarget === undefined
        ? undefined
        : rewriteTarget(rule, req.target, req.path, policy.rewriteTarget);
  }

  /**
   * #misdirected tells whether `host` names a host the certificate chosen for the connection's SNI does
   * not serve (RFC 9110 15.5.20): a client must not reuse a connection for another certificate's host.
   */
  #misdirected(host: string, sni: string, snapshot: Snapshot): boolean {
    if (host === sni) return false;
    const name = hostName(host);
    if (name === sni) return false;
    const tls = snapshot.tls.listeners.get(this.#listener);
    return tls !== undefined && tls.contextFor(name) !== tls.contextFor(sni);
  }

  /** #redirect answers a request with a redirect instead of proxying it. */
  #redirect(req: RequestHead, redirect: RedirectConfig, hasBody: boolean): void {
    const close = hasBody || this.#closeAfter || this.#ctx.draining;
    const { status, response } = redirectResponse(req, redirect, this.#scheme, close);
    this.socket.write(response);
    this.#report(status, undefined);
    if (close) {
      this.#closeGracefully();
      return;
    }
    this.#resetExchange();
    this.#nextRequest();
  }

  #forwardBody(chunk: Buffer): void {
    const framer = this.#reqFramer;
    const n = framer.consume(chunk, 0);
    if (n < 0) {
      this.#fail(framer.error!);
      return;
    }
    const maxBody = this.#route!.policy.maxBodyBytes;
    if (maxBody > 0 && framer.bodyBytes > maxBody) {
      this.#fail(new PorticoProxyError('PORTICO_BODY_TOO_LARGE', 'body too large'));
      return;
    }
    const upstream = this.#upstream!;
    const flushed = upstream.socket.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    const now = Date.now();
    const timeouts = this.#route!.policy.timeouts;
    if (this.#res === undefined) upstream.deadline = now + timeouts.upstreamResponseHeadMs;
    if (framer.done) {
      this.#requestDone = true;
      this.deadline = 0;
      if (n < chunk.length) this.#hold(chunk.subarray(n));
      return;
    }
    this.#lastBodyAt = now;
    this.deadline = this.#bodyDeadline(now, timeouts);
    if (!flushed) this.#pauseClient();
  }

  /**
   * #bodyDeadline is when the request body being received must have made progress by: the idle timeout
   * from the last piece, the total body deadline from the head, and (unless the client is paused by
   * backpressure) the minimum rate: after the grace period, `limits.minClientBodyBytesPerSecond` on average.
   */
  #bodyDeadline(now: number, timeouts: TimeoutsConfig): number {
    let at = Math.min(now + timeouts.clientBodyIdleMs, this.#startedAt + timeouts.clientBodyMs);
    const rate = this.#snapshot!.limits.minClientBodyBytesPerSecond;
    if (rate > 0 && !this.#clientPaused)
      at = Math.min(
        at,
        this.#startedAt + timeouts.clientBodyRateGraceMs + (this.#reqFramer.bodyBytes * 1_000) / rate,
      );
    return at;
  }

  #onDrain(): void {
    if ((this.#state === FORWARDING && this.#responseStarted) || this.#state === TUNNEL)
      this.#upstream?.resume();
  }

  #onEnd(): void {
    this.#clientEnded = true;
    if (this.#state === TUNNEL) {
      this.#upstream?.socket.end();
      return;
    }
    if (this.#state === IDLE || this.#state === HEAD || this.#state === LINGER) this.#destroy();
    else if (this.#bodyCannotComplete())
      this.#destroy(); // the upstream connection is never pooled
    else this.#closeAfter = true;
  }

  /** #bodyCannotComplete tells, once the client has half-closed, whether its request body is cut short. */
  #bodyCannotComplete(): boolean {
    if (this.#state === FORWARDING) return !this.#requestDone;
    return this.#state === CONNECTING && this.#pending === undefined && !this.#reqFramer.done;
  }

  #onClose(): void {
    if (this.#state === CLOSED) return;
    this.#destroy();
  }

  onDeadline(): void {
    this.deadline = 0;
    switch (this.#state) {
      case IDLE:
      case LINGER:
        this.#destroy();
        return;
      case HEAD:
        this.#fail(new PorticoProxyError('PORTICO_CLIENT_TIMEOUT', 'request head timeout'));
        return;
      case FORWARDING:
        if (this.#requestDone) return;
        if (this.#clientPaused) {
          // Paused by the upstream's backpressure: the rate is not the client's fault, the rest still holds.
          const timeouts = this.#route!.policy.timeouts;
          const at = Math.min(
            this.#lastBodyAt + timeouts.clientBodyIdleMs,
            this.#startedAt + timeouts.clientBodyMs,
          );
          if (at > Date.now()) {
            this.deadline = at;
            return;
          }
        }
        this.#fail(new PorticoProxyError('PORTICO_CLIENT_TIMEOUT', 'request body too slow or stalled'));
        return;
      case TUNNEL:
        this.#destroy(); // no byte either way for timeouts.clientIdleMs
        return;
    }
  }

  // ---- upstream side ------------------------------------------------------------------------

  /** #connect picks an endpoint (or uses `endpoint` on a stale-connection retry) and gets a connection. */
  #connect(endpoint: EndpointState | undefined): void {
    const fresh = endpoint !== undefined;
    let target = endpoint;
    if (target === undefined) {
      const service = this.#route!.service;
      const choice =
        this.#tried.length >= MAX_CONNECT_ATTEMPTS + this.#retries
          ? undefined
          : service.choose(this, this.#tried);
      target = choice?.endpoint;
      if (target === undefined) {
        const code = this.#tried.length === 0 ? 'PORTICO_NO_ENDPOINT' : 'PORTICO_UPSTREAM_CONNECT';
        this.#fail(new PorticoProxyError(code, 'no endpoint answered'));
        return;
      }
      if (choice!.setCookie !== undefined) this.#setCookie = choice!.setCookie;
      this.#tried.push(target);
    }
    this.#endpoint = target;
    target.active++;
    const upstream = this.#ctx.pool.acquire(target, this, fresh);
    this.#upstream = upstream;
    if (upstream.connected) {
      this.#connectMs = 0;
      this.#send(upstream);
    } else {
      this.#connectStartedAt = Date.now();
      upstream.deadline = this.#connectStartedAt + this.#route!.policy.timeouts.upstreamConnectMs;
    }
  }

  // ---- RequestKeys: what hash policies and affinity key on ---------------------------------

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
    const scan = new FieldCursor();
    scan.reset(req.buf, req.fieldsStart, req.headEnd, Number.MAX_SAFE_INTEGER, true);
    let value: string | undefined;
    while (scan.next()) {
      if (scan.nameEnd - scan.lineStart !== name.length) continue;
      if (req.buf.toString('latin1', scan.lineStart, scan.nameEnd).toLowerCase() !== name) continue;
      value = value === undefined ? scan.value() : `${value}${separator}${scan.value()}`;
    }
    return value;
  }

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
    const timeouts = this.#route!.policy.timeouts;
    this.#sentAt = Date.now();
    // The response-head timeout runs from when the whole request is sent (#requestSent); while the body
    // streams, each piece written restarts it, so a stuck upstream is still noticed.
    upstream.deadline = this.#sentAt + timeouts.upstreamResponseHeadMs;
    upstream.resume();
    const held = this.#heldBody;
    writeHead(
      upstream.socket,
      upstreamRequestPlan(this.#req!, this.#target, this.#lines, this.#host),
      held,
      0,
      held === undefined ? 0 : held.length,
    );
    const framer = this.#reqFramer;
    this.#sentBody = framer.done ? held : undefined;
    if (framer.done) {
      this.#requestDone = true;
      if (this.#pending === undefined) this.#resumeClient();
    } else {
      this.#lastBodyAt = this.#sentAt;
      this.deadline = this.#bodyDeadline(this.#sentAt, timeouts);
      const arrived = this.#pending; // body bytes that came while connecting
      this.#pending = undefined;
      this.#resumeClient();
      if (arrived !== undefined) this.#forwardBody(arrived);
    }
  }

  onUpstreamData(upstream: UpstreamConnection, chunk: Buffer): void {
    if (upstream !== this.#upstream) return;
    if (this.#state === TUNNEL) this.#tunnelToClient(upstream, chunk);
    else if (this.#res === undefined) this.#readResponseHead(upstream, chunk);
    else this.#relayBody(upstream, chunk, 0);
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
        if (req.upgrade === undefined || req.upgrade.includes('h2c') || res.upgrade === undefined) {
          this.#upstreamFailed(
            new PorticoProxyError('PORTICO_UPSTREAM_BAD_RESPONSE', 'unrequested protocol switch'),
          );
        } else {
          this.#startTunnel(upstream, res, buf, end + 4);
        }
        return;
      }
      if (req.version === 11 && (res.status !== 100 || req.expectContinue)) {
        writeHead(this.socket, downstreamResponsePlan(res, false), undefined, 0, 0);
      }
      if (end + 4 < buf.length) this.#readResponseHead(upstream, buf.subarray(end + 4));
      return;
    }
    upstream.deadline = 0;
    this.#res = res;
    const service = this.#route!.service;
    const now = Date.now();
    this.#ttfbMs = now - this.#sentAt;
    upstream.endpoint.recordLatency(this.#ttfbMs, now);
    service.state.stats.ttfb.observe(now - this.#sentAt);
    if (res.status >= 500) service.recordFailure(upstream.endpoint);
    else service.recordSuccess(upstream.endpoint);
    if (res.bodyLength === -2 || !this.#requestDone || this.#ctx.draining) this.#closeAfter = true;
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
    this.#responseStarted = true;
    const flushed = writeHead(
      this.socket,
      downstreamResponsePlan(res, this.#closeAfter, this.#responseLines(res)),
      buf,
      bodyStart,
      bodyEnd,
    );
    if (bodyEnd < buf.length) this.#upstreamTainted = true; // bytes beyond the response: never reuse
    if (framer.done) this.#finishExchange();
    else {
      upstream.deadline = Date.now() + this.#route!.policy.timeouts.upstreamIdleMs;
      if (!flushed) upstream.pause();
    }
  }

  /** #responseLines applies the route's response header rules and returns the lines to add. */
  #responseLines(res: ResponseHead): string {
    const policy = this.#route!.policy;
    const rules = policy.responseHeaders;
    const managed = rules?.managed;
    let lines = this.#snapshot!.forwarding.via && managed?.has('via') !== true ? 'via: 1.1 portico\r\n' : '';
    if (this.#setCookie !== undefined) lines += `set-cookie: ${this.#setCookie}\r\n`;
    const hsts = policy.hstsLine;
    if (hsts !== undefined && this.#scheme === 'https' && managed?.has('strict-transport-security') !== true)
      lines += hsts;
    if (rules !== undefined) {
      if (rules.drop.size > 0)
        dropNamedFields(res.buf, res.fieldsStart, res.headEnd, rules.drop, res.drop, false);
      lines += rules.lines;
    }
    return lines;
  }

  #relayBody(upstream: UpstreamConnection, buf: Buffer, start: number): void {
    const framer = this.#resFramer;
    if (start < buf.length) {
      const n = framer.consume(buf, start);
      if (n < 0) {
        this.#destroy(framer.error); // the client has part of a response; only closing tells it something broke
        return;
      }
      if (n > start) {
        const flushed = this.socket.write(start === 0 && n === buf.length ? buf : buf.subarray(start, n));
        if (!flushed && !framer.done) upstream.pause();
      }
      if (n < buf.length) this.#upstreamTainted = true; // bytes beyond the response: never reuse
    }
    if (framer.done) this.#finishExchange();
    else upstream.deadline = Date.now() + this.#route!.policy.timeouts.upstreamIdleMs;
  }

  // ---- tunnels (Upgrade) ----------------------------------------------------------------------

  /** #startTunnel forwards a 101 and from then on splices bytes both ways. */
  #startTunnel(upstream: UpstreamConnection, res: ResponseHead, buf: Buffer, rest: number): void {
    this.#state = TUNNEL;
    this.#res = res;
    this.#responseStarted = true;
    this.#upstreamTainted = true; // never pooled again
    upstream.deadline = 0;
    this.deadline = Date.now() + this.#ctx.snapshot.timeouts.clientIdleMs;
    writeHead(
      this.socket,
      downstreamResponsePlan(res, false, `connection: upgrade\r\nupgrade: ${res.upgrade}\r\n`),
      buf,
      rest,
      buf.length,
    );
    this.#report(101, undefined);
    const early = this.#pending; // bytes the client sent after its request, before the 101
    this.#pending = undefined;
    this.#resumeClient();
    if (early !== undefined) this.#tunnelToUpstream(early);
  }

  #tunnelToUpstream(chunk: Buffer): void {
    const upstream = this.#upstream;
    if (upstream === undefined) return;
    this.deadline = Date.now() + this.#ctx.snapshot.timeouts.clientIdleMs;
    if (!upstream.socket.write(chunk)) this.#pauseClient();
  }

  #tunnelToClient(upstream: UpstreamConnection, chunk: Buffer): void {
    this.deadline = Date.now() + this.#ctx.snapshot.timeouts.clientIdleMs;
    if (!this.socket.write(chunk)) upstream.pause();
  }

  onUpstreamDrain(upstream: UpstreamConnection): void {
    if (upstream !== this.#upstream) return;
    if ((this.#state === FORWARDING && !this.#requestDone) || this.#state === TUNNEL) this.#resumeClient();
  }

  onUpstreamTimeout(upstream: UpstreamConnection): void {
    if (upstream !== this.#upstream) return;
    if (!upstream.connected) {
      this.#route!.service.recordFailure(upstream.endpoint);
      this.#releaseUpstream(false);
      this.#connect(undefined);
    } else if (this.#res === undefined) {
      this.#route!.service.recordFailure(upstream.endpoint);
      this.#releaseUpstream(false);
      if (this.#retryElsewhere()) return;
      this.#upstreamFailed(new PorticoProxyError('PORTICO_UPSTREAM_TIMEOUT', 'upstream response timeout'));
    } else if (this.#state === FORWARDING) {
      this.#destroy(UPSTREAM_STALLED); // the response stalled for timeouts.upstreamIdleMs mid-body
    }
  }

  onUpstreamClose(upstream: UpstreamConnection, _error: Error | undefined): void {
    if (upstream !== this.#upstream) return;
    const endpoint = upstream.endpoint;
    this.#upstream = undefined;
    endpoint.active--;
    if (this.#state === TUNNEL) {
      this.#closeGracefully(); // the upstream ended the tunnel: end the client side after what was written
      return;
    }
    const service = this.#route?.service;
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
        this.#heldBody = this.#sentBody; // the framer already saw it: done stays true
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
      this.#finishExchange(); // close-delimited response ends here
      return;
    }
    service?.recordFailure(endpoint);
    if (!this.#responseStarted) {
      this.#upstreamFailed(new PorticoProxyError('PORTICO_UPSTREAM_RESET', 'upstream closed mid-head'));
    } else {
      this.#destroy(UPSTREAM_TRUNCATED); // the client must see the connection close
    }
  }

  /**
   * #retryElsewhere sends an idempotent request again to another endpoint, when the service configures
   * retries, nothing has reached the client, the whole request is in hand, and the retry budget allows.
   */
  #retryElsewhere(): boolean {
    const service = this.#route!.service;
    const req = this.#req!;
    if (
      this.#retries >= service.config.retries.attempts ||
      this.#responseStarted ||
      !this.#requestDone ||
      !IDEMPOTENT.has(req.method) ||
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
    this.#releaseUpstream(false);
    this.#fail(error);
  }

  #releaseUpstream(reuse: boolean): void {
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
    new ResponseDrain(
      this.#ctx.pool,
      upstream,
      this.#req!.method,
      this.#route!.policy.timeouts.upstreamResponseHeadMs,
    );
  }

  // ---- ends of exchanges --------------------------------------------------------------------

  #finishExchange(): void {
    const res = this.#res!;
    const reuse = this.#requestDone && res.reusable && !this.#upstreamTainted;
    this.#releaseUpstream(reuse);
    this.#report(res.status, undefined);
    if (this.#closeAfter || !this.#requestDone) {
      this.#closeGracefully();
      return;
    }
    this.#resetExchange();
    this.#nextRequest();
  }

  #nextRequest(): void {
    this.#state = IDLE;
    this.deadline = Date.now() + this.#ctx.snapshot.timeouts.clientIdleMs;
    const pending = this.#pending;
    this.#pending = undefined;
    this.#resumeClient();
    if (pending !== undefined) this.#readHead(pending);
  }

  #resetExchange(): void {
    this.#req = undefined;
    this.#res = undefined;
    this.#resHead = undefined;
    this.#route = undefined;
    this.#target = undefined;
    this.#host = undefined;
    this.#setCookie = undefined;
    this.#requestId = undefined;
    this.#connectMs = -1;
    this.#ttfbMs = -1;
    this.#endpoint = undefined;
    this.#sentBody = undefined;
    this.#heldBody = undefined;
    this.#responseStarted = false;
    this.#upstreamTainted = false;
    this.#requestDone = false;
  }

  /** #answerLocally sends a response Portico generates (404, 503) and keeps the connection when it can. */
  #answerLocally(error: PorticoProxyError, hasBody: boolean): void {
    if (hasBody || this.#closeAfter || this.#ctx.draining) {
      this.#fail(error);
      return;
    }
    this.socket.write(localResponse(error.status, false));
    this.#report(error.status, error);
    this.#resetExchange();
    this.#nextRequest();
  }

  /** #fail answers with the error's status when no response has started, then closes. */
  #fail(error: PorticoProxyError): void {
    this.#releaseUpstream(false);
    if (this.#responseStarted || this.#state === CLOSED) {
      this.#destroy(error);
      return;
    }
    this.#ctx.counters.errors++;
    this.#report(error.status, error);
    this.socket.write(localResponse(error.status, true));
    this.#closeGracefully();
  }

  /** #closeGracefully ends the client connection after what was written, discarding further input. */
  #closeGracefully(): void {
    this.#state = LINGER;
    this.#pending = undefined;
    this.#head = undefined;
    this.deadline = Date.now() + LINGER_MS;
    this.socket.end();
    this.#resumeClient();
  }

  /**
   * #destroy closes the connection and its upstream at once. An exchange still open is reported: with
   * `cause` (the upstream's fault, under the status already sent) or as a client abort (499).
   */
  #destroy(cause?: PorticoProxyError): void {
    if (this.#state === CLOSED) return;
    const phase = this.#phase();
    this.#state = CLOSED;
    this.deadline = 0;
    if (cause === undefined) this.#abandonUpstream(phase);
    else this.#releaseUpstream(false);
    if (this.#exchangeOpen) {
      const error = cause ?? CLIENT_ABORTED;
      const status = error === CLIENT_ABORTED ? 499 : (this.#res?.status ?? error.status);
      this.#report(status, error, phase);
    }
    if (this.#route !== undefined) this.#endRequest();
    this.#pending = undefined;
    this.#head = undefined;
    this.socket.destroy();
    this.#ctx.sweeper.delete(this);
    this.#ctx.connectionClosed(this);
  }

  /** #endRequest takes the request out of its service's requests (and retries) in flight. */
  #endRequest(): void {
    if (!this.#counted) return;
    this.#counted = false;
    const state = this.#route!.service.state;
    state.active--;
    state.retries -= this.#retries;
    this.#retries = 0;
  }

  /** #phase names where the current exchange is, for its outcome. */
  #phase(): ExchangePhase {
    switch (this.#state) {
      case IDLE:
      case HEAD:
        return 'request-head';
      case CONNECTING:
        return 'upstream-connect';
      case FORWARDING:
        if (!this.#requestDone) return 'request-body';
        return this.#res === undefined ? 'response-head' : 'response-body';
      case TUNNEL:
        return 'tunnel';
      default:
        return 'complete';
    }
  }

  #report(status: number, error: PorticoProxyError | undefined, phase: ExchangePhase = 'complete'): void {
    this.#exchangeOpen = false;
    this.#endRequest();
    const route = this.#route;
    if (route !== undefined) {
      const ms = Date.now() - this.#startedAt;
      const statusClass = status >= 100 && status < 600 ? (status / 100) | 0 : 0;
      route.policy.stats.responses[statusClass]!++;
      route.policy.stats.duration.observe(ms);
      route.service.state.stats.responses[statusClass]!++;
      route.service.state.stats.duration.observe(ms);
    }
    if (status >= 500) this.#ctx.counters.responses5xx++;
    const channel = this.#ctx.requestChannel;
    if (!channel.hasSubscribers) return;
    const req = this.#req;
    channel.publish({
      client: this.#client === '' ? this.#peer : this.#client,
      requestId: this.#requestId,
      method: req?.method,
      host: req?.host,
      path: req?.path,
      status,
      route: this.#route?.policy.name,
      service: this.#route?.service.name,
      endpoint: this.#endpoint?.key,
      errorCode: error?.code,
      phase,
      durationMs: this.#startedAt === 0 ? 0 : Date.now() - this.#startedAt,
      connectMs: this.#connectMs,
      ttfbMs: this.#ttfbMs,
      requestBytes: this.#reqFramer.bodyBytes,
      responseBytes: this.#resFramer.bodyBytes,
    });
  }
}

/**
 * ClientSocket is what a connection reads requests from and writes responses to: a `net.Socket`, a TLS
 * socket, or an HTTP/2 stream presented as an HTTP/1.1 connection.
 */
export type ClientSocket = Duplex & {
  readonly remoteAddress?: string | undefined;
  readonly localPort?: number | undefined;
};

/**
 * SecureInfo is what a TLS connection adds to each request: `lines` (the client certificate's subject) sent
 * upstream, replacing the client's own fields named in `drop`.
 */
export interface SecureInfo {
  readonly lines: string;
  readonly drop: ReadonlySet<string> | undefined;
  /** servername is the SNI the client sent (lower case), if any. */
  readonly servername: string | undefined;
}

/** ConnectionOptions describe where a connection came from. */
export interface ConnectionOptions {
  /** origin is the client named by a PROXY protocol header, used instead of the socket's peer. */
  readonly origin?: { readonly address: string; readonly port: number } | undefined;
  /** initial holds bytes already read from the socket (after a PROXY protocol header). */
  readonly initial?: Buffer | undefined;
  /** localPort is the port the client connected to, when the socket cannot tell. */
  readonly localPort?: number | undefined;
  /** listener is the accepting listener's name (for its HTTPS redirect). */
  readonly listener?: string | undefined;
  /** secure is set when Portico terminated TLS. */
  readonly secure?: SecureInfo | undefined;
}

/** hostName is a Host value without its port, in lower case. */
function hostName(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':');
  return (end <= 0 ? host : host.slice(0, end)).toLowerCase();
}

function clientAddress(socket: ClientSocket): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
