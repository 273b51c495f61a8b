import type { ResponseHead } from '../http/response-head.ts';
import type { PorticoProxyError } from '../proxy-error.ts';
import type { ClientInfo } from './client-info.ts';
import type { LocalReply } from './local-reply.ts';

/**
 * Downstream is the client side of an exchange, as a codec (HTTP/1.1 connection, HTTP/2 stream, a
 * `node:http` response) presents it to the engine. The engine calls these in order: optionally
 * `sendInterim`, then `sendResponseHead`, `sendResponseBody`... and `responseComplete`; or `reply` or
 * `fail` instead of a response; or `abort` at any point. After `responseComplete`, `reply`, `fail` or
 * `abort` the exchange is over and the engine calls nothing more.
 */
export interface Downstream {
  readonly client: ClientInfo;
  /** requestBodyBytes counts the request body bytes received (framing excluded), for the outcome. */
  readonly requestBodyBytes: number;
  /** protocol is the HTTP version the client speaks, for the outcome: `HTTP/1.1`, `HTTP/2`. */
  readonly protocol: string;
  /** draining is true once the proxy is stopping: a codec then closes after the current exchange. */
  readonly draining: boolean;
  /**
   * outputIdle is true when everything sent to the client has left for the kernel, so no buffer passed
   * to `sendResponseBody` is still referenced; codecs that cannot tell say false.
   */
  readonly outputIdle: boolean;
  /** startRequestBody delivers the request body to the exchange from now on (held bytes first). */
  startRequestBody(): void;
  /** pauseRequestBody stops reading the request body (the upstream is not keeping up). */
  pauseRequestBody(): void;
  resumeRequestBody(): void;
  /** sendInterim forwards a 1xx response other than 101. */
  sendInterim(res: ResponseHead): void;
  /**
   * sendResponseHead sends `res` (its own fields less `res.drop`) with `lines` added, and the first part
   * of the body, `buf[start, end)`, as the upstream framed it; `last` says those bytes complete the
   * response (`responseComplete` follows at once). False means the client is full: wait for the codec to
   * call the exchange's `onClientDrain`.
   */
  sendResponseHead(
    res: ResponseHead,
    lines: string,
    buf: Buffer,
    start: number,
    end: number,
    last: boolean,
  ): boolean;
  /**
   * sendResponseBody sends body bytes: as the upstream framed them for a response read from HTTP/1.1,
   * payload for one with `fields` (from HTTP/2). False when the client is full.
   */
  sendResponseBody(chunk: Buffer): boolean;
  /** responseComplete ends a response the upstream finished, with its trailers (flat pairs) if any. */
  responseComplete(trailers?: readonly string[]): void;
  /** reply sends a response Portico makes (a redirect, a refusal); the request needs no upstream. */
  reply(reply: LocalReply): void;
  /**
   * fail answers with the error's status (nothing was sent yet) and ends the exchange. `keepAlive` says the
   * error leaves the connection usable (no route, misdirected); otherwise an HTTP/1.1 codec closes it.
   */
  fail(error: PorticoProxyError, keepAlive: boolean): void;
  /** abort ends a response that had started and cannot complete: the client must see it cut short. */
  abort(error: PorticoProxyError): void;
  /**
   * startTunnel sends a 101 response and from then on passes bytes both ways (`buf[rest, ...)` is the
   * upstream's first tunnel bytes). Only HTTP/1.1 codecs offer it; others never send an Upgrade upstream.
   */
  startTunnel?(res: ResponseHead, lines: string, buf: Buffer, rest: number): void;
  /** tunnelToClient passes upstream bytes of a tunnel on; false when full. */
  tunnelToClient?(chunk: Buffer): boolean;
  /** tunnelEnded ends the client side of a tunnel the upstream closed. */
  tunnelEnded?(): void;
}
