/**
 * One data plane for bench/workers.ts: Portico's proxy on the config's listeners, bound with SO_REUSEPORT
 * so that other workers can bind the same ports.
 *
 *   node bench/workers/data-plane.ts <config.json> <threads>
 *
 * With threads = 0 this process is one worker; with threads = N it starts N worker threads that each run
 * a proxy, and stays as their parent. It prints `ready` once every proxy listens. A thread that receives
 * the message `crash` throws from a timer, as an uncaught bug would.
 */
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { parseConfig } from '@portico/config';
import { createProxy } from '@portico/proxy';

async function serve(configPath: string): Promise<void> {
  const proxy = createProxy(parseConfig(JSON.parse(readFileSync(configPath, 'utf8'))), { reusePort: true });
  await proxy.listen();
}

if (isMainThread) {
  const [configPath, threadsArg] = process.argv.slice(2) as [string, string];
  const threads = Number(threadsArg);
  if (threads === 0) {
    await serve(configPath);
    process.stdout.write('ready\n');
  } else {
    const workers: Worker[] = [];
    let ready = 0;
    for (let i = 0; i < threads; i++) {
      // The young generation the binary's --max-semi-space-size=16 gives a process (two 16 MiB semi-spaces).
      const worker = new Worker(new URL(import.meta.url), {
        workerData: { configPath },
        resourceLimits: { maxYoungGenerationSizeMb: 32 },
      });
      worker.on('message', (message) => {
        if (message === 'ready' && ++ready === threads) process.stdout.write('ready\n');
      });
      worker.on('error', (error) => process.stderr.write(`thread ${i} died: ${error.message}\n`));
      workers.push(worker);
    }
    // `crash <i>` on standard input makes thread i throw.
    process.stdin.setEncoding('utf8').on('data', (text: string) => {
      const [command, index] = text.trim().split(' ');
      if (command === 'crash') workers[Number(index)]?.postMessage('crash');
    });
  }
} else {
  await serve((workerData as { configPath: string }).configPath);
  parentPort!.on('message', (message) => {
    if (message === 'crash')
      setTimeout(() => {
        throw new Error('a bug in one worker');
      }, 0);
  });
  parentPort!.postMessage('ready');
}
