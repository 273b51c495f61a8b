import { connect, type Socket } from 'node:net';

/** Frame is one HTTP/2 frame read from the server. */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** frame encodes one HTTP/2 frame (RFC 9113 4.1). */
export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/**
 * requestBlock HPACK-encodes GET `path` for `authority` with extra literal fields, using only the static
 * table and literals without indexing (RFC 7541 6.2.2), so frames can be written by hand. Values are
 * taken as given: this is how tests send what a conforming client library refuses to.
 */
export function requestBlock(authority: string, path = '/', extra: [string, string][] = []): Buffer {
  const literal = (bytes: Buffer) => Buffer.concat([Buffer.from([bytes.length]), bytes]);
  const parts = [Buffer.from([0x82, 0x86])]; // :method GET, :scheme http
  parts.push(Buffer.from([0x04]), literal(Buffer.from(path, 'latin1'))); // :path, name index 4
  parts.push(Buffer.from([0x01]), literal(Buffer.from(authority, 'latin1'))); // :authority, name index 1
  for (const [name, value] of extra) {
    parts.push(
      Buffer.from([0x00]),
      literal(Buffer.from(name, 'latin1')),
      literal(Buffer.from(value, 'latin1')),
    );
  }
  return Buffer.concat(parts);
}

/** RawH2 is a hand-driven HTTP/2 prior-knowledge (h2c) connection that records every frame received. */
export class RawH2 {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  closed = false;
  #buffer = Buffer.alloc(0);

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  /**
   * open connects and sends the preface and an empty SETTINGS frame; with `ack` it also acknowledges the
   * server's SETTINGS at once (its limits then bind the client), without it they stay unacknowledged.
   */
  static async open(port: number, ack = true): Promise<RawH2> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const h2 = new RawH2(socket);
    const start = [PREFACE, frame(FRAME.SETTINGS, 0, 0)];
    if (ack) start.push(frame(FRAME.SETTINGS, 1, 0));
    socket.write(Buffer.concat(start));
    return h2;
  }

  write(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** until waits (up to `timeoutMs`) for `check` to hold over the frames received so far. */
  async until(check: (frames: Frame[]) => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.frames)) {
      if (Date.now() > deadline)
        throw new Error(`timed out; frames: ${this.frames.map((f) => f.type).join(',')}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 9) {
      const length = this.#buffer.readUIntBE(0, 3);
      if (this.#buffer.length < 9 + length) return;
      this.frames.push({
        type: this.#buffer[3]!,
        flags: this.#buffer[4]!,
        stream: this.#buffer.readUInt32BE(5) & 0x7fffffff,
        payload: this.#buffer.subarray(9, 9 + length),
      });
      this.#buffer = this.#buffer.subarray(9 + length);
    }
  }
}
