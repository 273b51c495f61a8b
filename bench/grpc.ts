/**
 * gRPC unary calls through Portico beside the same calls made directly, one run:
 *
 *   node --conditions=development bench/grpc.ts [--seconds 10] [--concurrency 50]
 *   PORTICO_MAIN=/other/checkout/packages/cli/src/main.ts ...   # another build
 *
 * A `@grpc/grpc-js` server (echoing a 64-byte message) and a `@grpc/grpc-js` load client run on CPU 0,
 * Portico (an h2c listener, `services[].protocol: http2`) on CPU 1. The client keeps `concurrency` calls
 * in flight over one channel for `seconds` after a 3 s warm-up. Printed: calls/s, p50 and p99 latency
 * (ms) direct and through Portico, and the CPU microseconds per call of Portico's process (user + sys
 * from /proc) and, for scale, of the server's. Needs Linux and `taskset`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { configFile, startPorticoChild } from './portico-child.ts';

const SELF = fileURLToPath(import.meta.url);
const option = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const SECONDS = Number(option('seconds', '10'));
const CONCURRENCY = Number(option('concurrency', '50'));

const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as unknown,
};
const SERVICE = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};
const MESSAGE = { payload: 'x'.repeat(50) };

/** serve runs the echo server and prints its port. */
async function serve(): Promise<void> {
  const server = new grpc.Server();
  server.addService(SERVICE, {
    echo: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, call.request),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  console.log(JSON.stringify({ port }));
}

/** load keeps CONCURRENCY calls in flight against `target` and prints calls and latency percentiles. */
async function load(target: string, seconds: number): Promise<void> {
  const Client = grpc.makeGenericClientConstructor(SERVICE, 'Echo');
  const client = new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    echo: (m: unknown, cb: (e: grpc.ServiceError | null) => void) => void;
  };
  const latencies: number[] = [];
  let errors = 0;
  const until = Date.now() + seconds * 1_000;
  const worker = async () => {
    while (Date.now() < until) {
      const started = process.hrtime.bigint();
      await new Promise<void>((resolve) =>
        client.echo(MESSAGE, (error) => {
          if (error) errors++;
          else latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          resolve();
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  console.log(JSON.stringify({ calls: latencies.length, errors, p50: at(0.5), p99: at(0.99) }));
  client.close();
}

function pinned(cpu: string, args: string[]): ChildProcess {
  return spawn('taskset', ['-c', cpu, process.execPath, '--conditions=development', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function firstJson<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line) as T);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code} before printing`)));
  });
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Load {
  calls: number;
  errors: number;
  p50: number;
  p99: number;
}

async function measure(target: string, watched: number[]): Promise<{ load: Load; cpu: number[] }> {
  await firstJson<Load>(pinned('0', [SELF, '--role', 'load', '--target', target, '--seconds', '3']));
  const before = watched.map(cpuSeconds);
  const result = await firstJson<Load>(
    pinned('0', [SELF, '--role', 'load', '--target', target, '--seconds', String(SECONDS)]),
  );
  return { load: result, cpu: watched.map((pid, i) => cpuSeconds(pid) - before[i]!) };
}

async function main(): Promise<void> {
  const server = pinned('0', [SELF, '--role', 'serve']);
  const { port } = await firstJson<{ port: number }>(server);
  const config = configFile(
    'grpc-bench',
    [
      'listeners:',
      '  - { name: grpc, address: 127.0.0.1, port: 0, h2c: true }',
      'routes:',
      '  - paths: [{ path: /, type: Prefix, service: echo }]',
      'services:',
      `  - { name: echo, protocol: http2, endpoints: [{ address: 127.0.0.1, port: ${port} }] }`,
      '',
    ].join('\n'),
  );
  const portico = await startPorticoChild(config);
  spawn('taskset', ['-pc', '1', String(portico.child.pid)], { stdio: 'ignore' });
  try {
    const direct = await measure(`127.0.0.1:${port}`, [server.pid!]);
    const through = await measure(`127.0.0.1:${portico.ports[0]}`, [server.pid!, portico.child.pid!]);
    const us = (cpu: number, calls: number) => ((cpu * 1e6) / Math.max(1, calls)).toFixed(1);
    console.log(
      `gRPC unary, 64-byte messages, ${CONCURRENCY} calls in flight, ${SECONDS} s (grpc-js both ends)\n`,
    );
    console.log('| path | calls/s | p50 ms | p99 ms | errors | server CPU us/call | Portico CPU us/call |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const [name, m] of [
      ['direct', direct],
      ['through Portico (h2c)', through],
    ] as const) {
      const { calls, errors, p50, p99 } = m.load;
      console.log(
        `| ${name} | ${Math.round(calls / SECONDS).toLocaleString('en')} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${errors} | ${us(m.cpu[0]!, calls)} | ${m.cpu[1] === undefined ? '' : us(m.cpu[1], calls)} |`,
      );
    }
  } finally {
    portico.child.kill('SIGKILL');
    server.kill('SIGKILL');
  }
}

const role = option('role', 'main');
if (role === 'serve') await serve();
else if (role === 'load') await load(option('target', ''), Number(option('seconds', '3')));
else await main();
