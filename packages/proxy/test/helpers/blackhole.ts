import { type ChildProcess, spawn } from 'node:child_process';

/**
 * BLACKHOLE is a listening socket on 127.0.0.1 whose accept queue is full, so the kernel drops further
 * SYNs: a connect to it hangs, as to a blackholed host (no RST, no answer). Python, since Node accepts
 * every connection it can.
 */
const BLACKHOLE = `
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)
port = s.getsockname()[1]
held = []
for i in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(('127.0.0.1', port))
    except BlockingIOError: pass
    held.append(c)
print(port, flush=True)
time.sleep(120)
`;

/** Blackhole is a port on 127.0.0.1 where connects hang; `close` ends it. */
export interface Blackhole {
  readonly port: number;
  close(): void;
}

/** startBlackhole starts a blackholed port (needs python3, which the machine has). */
export async function startBlackhole(): Promise<Blackhole> {
  const child: ChildProcess = spawn('python3', ['-c', BLACKHOLE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('error', reject);
  });
  return { port, close: () => child.kill() };
}
