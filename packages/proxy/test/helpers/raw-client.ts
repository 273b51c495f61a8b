import { connect, type Socket } from 'node:net';

/**
 * RawClient is a plain TCP connection for sending exact bytes and reading exactly what comes back, for
 * framing tests where an HTTP client library would normalise what it sends.
 */
export class RawClient {
  readonly socket: Socket;
  #received = Buffer.alloc(0);
  #closed = false;
  #waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  get text(): string {
    return this.#received.toString('latin1');
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** waitFor resolves once `predicate` holds for the received text, or rejects after `timeoutMs`. */
  async waitFor(predicate: (text: string, closed: boolean) => boolean, timeoutMs = 3_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.text, this.#closed)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out; received so far: ${JSON.stringify(this.text.slice(0, 500))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.text;
  }

  /** waitForClose resolves with everything received once the peer closed. */
  waitForClose(timeoutMs = 3_000): Promise<string> {
    return this.waitFor((_text, closed) => closed, timeoutMs);
  }

  /** responses counts complete status lines received so far. */
  countStatusLines(): number {
    return (this.text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length;
  }

  close(): void {
    this.socket.destroy();
  }
}
