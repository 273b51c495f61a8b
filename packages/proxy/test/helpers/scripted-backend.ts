import type { Socket } from 'node:net';
import { RawBackend } from './raw-backend.ts';

/** Reply writes the answer to one request head, byte for byte. */
export type Reply = (head: string, socket: Socket) => void;

/**
 * ScriptedBackend is a raw TCP server whose reply to each request head is chosen by a function, written
 * byte for byte, so tests can send the malformed, slow, or unusual responses real servers rarely do.
 */
export class ScriptedBackend extends RawBackend {
  heads: string[] = [];
  readonly #reply: Reply;

  private constructor(reply: Reply) {
    super();
    this.#reply = reply;
  }

  static start(reply: Reply): Promise<ScriptedBackend> {
    return RawBackend.listen(new ScriptedBackend(reply));
  }

  protected onConnection(socket: Socket): void {
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let end = buffered.indexOf('\r\n\r\n');
      while (end >= 0) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        this.heads.push(head);
        this.#reply(head, socket);
        end = buffered.indexOf('\r\n\r\n');
      }
    });
  }
}
