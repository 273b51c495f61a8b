import type { Socket } from 'node:net';
import { RawBackend } from './raw-backend.ts';

/**
 * RecordingBackend is a raw TCP server that records every byte it receives and answers each connection's
 * first request with a fixed response, so tests can assert exactly what Portico sent upstream.
 */
export class RecordingBackend extends RawBackend {
  received = '';
  connections = 0;
  readonly #response: string;

  private constructor(response: string) {
    super();
    this.#response = response;
  }

  static start(response = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'): Promise<RecordingBackend> {
    return RawBackend.listen(new RecordingBackend(response));
  }

  protected onConnection(socket: Socket): void {
    this.connections++;
    let seen = '';
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.toString('latin1');
      if (seen.includes('\r\n\r\n')) return;
      seen += chunk.toString('latin1');
      if (seen.includes('\r\n\r\n')) socket.write(this.#response);
    });
  }
}
