import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { type PorticoConfigInput, parseConfig } from '@portico/config';
import { createProxy, type PorticoProxy } from '@portico/proxy';
import { request } from 'undici';
import { startBackend } from './helpers/backend.ts';
import { writeInBursts } from './helpers/bursts.ts';
import { makeCert } from './helpers/tls-certs.ts';

const MiB = 1024 * 1024;

/** listen binds a test server on 127.0.0.1; it is unref'd, so leftovers never keep the run alive. */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  servers.push(server);
  return (server.address() as AddressInfo).port;
}

const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
});

function echoServer(): Server {
  return createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
}

async function startL4(
  input: Omit<PorticoConfigInput, 'listeners'> & { listeners: PorticoConfigInput['listeners'] },
): Promise<{ proxy: PorticoProxy; ports: Map<string, number> }> {
  const proxy = createProxy(parseConfig(input));
  const bound = await proxy.listen();
  return { proxy, ports: new Map(bound.map((l) => [l.name, l.port])) };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    const closed = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('close', closed);
    socket.once('end', closed); // the proxy's FIN (these sockets allow half-open)
    socket.resume();
    socket.on('error', () => {});
  });
}

describe('L4 TCP proxying', () => {
  it('moves 100 MiB both ways byte for byte, with backpressure', async () => {
    const echo = echoServer();
    const port = await listen(echo);
    const { proxy, ports } = await startL4({
      listeners: [{ name: 'tcp', address: '127.0.0.1', port: 0, protocol: 'tcp', service: 'echo' }],
      services: [{ name: 'echo', endpoints: [{ address: '127.0.0.1', port }] }],
    });
    try {
      const socket = await open(ports.get('tcp')!);
      const sent = createHash('sha256');
      const got = createHash('sha256');
      let received = 0;
      const total = 100 * MiB;
      const done = new Promise<void>((resolve) => {
        socket.on('data', (chunk: Buffer) => {
          got.update(chunk);
          received += chunk.length;
          if (received === total) resolve();
        });
      });
      const block = Buffer.alloc(256 * 1024);
      for (let i = 0; i < block.length; i++) block[i] = (i * 7 + 3) & 0xff;
      for (let sentBytes = 0; sentBytes < total; sentBytes += block.length) {
        sent.update(block);
        if (!socket.write(block)) await new Promise((resolve) => socket.once('drain', resolve));
      }
      await done;
      assert.equal(got.digest('hex'), sent.digest('hex'));
      socket.destroy();
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
      echo.close();
    }
  });

  it('relays random bytes intact to fast and slow readers at once (read buffers reused or left to pending writes)', async () => {
    // Random, never periodic bytes: a read buffer reused while a write still held it would show here.
    const SIZE = 12 * MiB;
    const digests: string[] = [];
    const origin = createServer((socket) => {
      socket.on('error', () => {});
      const body = randomBytes(SIZE); // each connection its own bytes
      digests.push(createHash('sha256').update(body).digest('hex'));
      writeInBursts(socket, body);
    });
    const port = await listen(origin);
    const { proxy, ports } = await startL4({
      listeners: [{ name: 'tcp', address: '127.0.0.1', port: 0, protocol: 'tcp', service: 'origin' }],
      services: [{ name: 'origin', endpoints: [{ address: '127.0.0.1', port }] }],
    });
    const download = async (slow: boolean) => {
      const socket = await open(ports.get('tcp')!);
      const hash = createHash('sha256');
      let bytes = 0;
      let stalls = 0;
      await new Promise<void>((resolve, reject) => {
        socket.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.length;
          if (slow && bytes >= stalls * 2 * MiB) {
            // A client that stalls every 2 MiB until the kernel's buffers are full: the proxy's
            // writes to it then wait in Node, holding the chunks they were given.
            stalls++;
            socket.pause();
            setTimeout(() => socket.resume(), 60);
          }
        });
        socket.once('end', () => resolve());
        socket.once('error', reject);
      });
      socket.destroy();
      assert.equal(bytes, SIZE);
      return hash.digest('hex');
    };
    try {
      const got = await Promise.all([download(true), download(false), download(true), download(false)]);
      assert.equal(digests.length, 4);
      assert.deepEqual(
        [...got].sort(),
        [...digests].sort(),
        'every client got exactly the bytes one origin stream sent',
      );
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
    }
  });

  it('half-close: the client FIN keeps the other direction open', async () => {
    const backend = createServer({ allowHalfOpen: true }, (socket) => {
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d;
      });
      socket.on('end', () => setTimeout(() => socket.end(`after your FIN I still say: got ${got}`), 50));
    });
    const port = await listen(backend);
    const { proxy, ports } = await startL4({
      listeners: [{ name: 'tcp', address: '127.0.0.1', port: 0, protocol: 'tcp', service: 'b' }],
      services: [{ name: 'b', endpoints: [{ address: '127.0.0.1', port }] }],
    });
    try {
      const socket = await open(ports.get('tcp')!);
      let reply = '';
      socket.on('data', (d: Buffer) => {
        reply += d;
      });
      socket.end('hello');
      await new Promise((resolve) => socket.once('end', resolve));
      assert.equal(reply, 'after your FIN I still say: got hello');
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
      backend.close();
    }
  });

  it('closes an idle connection after idleTimeoutMs, skips a refusing endpoint, and counts', async () => {
    const echo = echoServer();
    const port = await listen(echo);
    const dead = createServer();
    const deadPort = await listen(dead);
    dead.close();
    const { proxy, ports } = await startL4({
      listeners: [
        { name: 'tcp', address: '127.0.0.1', port: 0, protocol: 'tcp', service: 'e', idleTimeoutMs: 300 },
      ],
      services: [
        {
          name: 'e',
          endpoints: [
            { address: '127.0.0.1', port: deadPort },
            { address: '127.0.0.1', port },
          ],
        },
      ],
    });
    try {
      for (let i = 0; i < 4; i++) {
        const socket = await open(ports.get('tcp')!);
        const echoed = new Promise<string>((resolve) =>
          socket.once('data', (d: Buffer) => resolve(String(d))),
        );
        socket.write(`ping ${i}`);
        assert.equal(await echoed, `ping ${i}`);
        const started = Date.now();
        assert.equal(await closedWithin(socket, 2_000), true);
        const idle = Date.now() - started;
        assert.ok(idle >= 250 && idle < 1_000, `closed after ${idle} ms idle`);
      }
      const counters = proxy.listenerCounters().get('tcp')!;
      assert.equal(counters.connections, 4);
      assert.equal(counters.bytesIn, 'ping 0'.length * 4);
      assert.equal(counters.active, 0);
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
      echo.close();
    }
  });

  it('enforces maxConnections per listener and maxConnectionsPerEndpoint', async () => {
    const echo = echoServer();
    const port = await listen(echo);
    const echo2 = echoServer(); // its own endpoint: limits count per endpoint, across services
    const port2 = await listen(echo2);
    const { proxy, ports } = await startL4({
      listeners: [
        { name: 'capped', address: '127.0.0.1', port: 0, protocol: 'tcp', service: 'e', maxConnections: 2 },
        { name: 'per-endpoint', address: '127.0.0.1', port: 0, protocol: 'tcp', service: 'one' },
      ],
      services: [
        { name: 'e', endpoints: [{ address: '127.0.0.1', port }] },
        { name: 'one', endpoints: [{ address: '127.0.0.1', port: port2 }], maxConnectionsPerEndpoint: 1 },
      ],
    });
    const roundTrip = async (socket: Socket) => {
      const echoed = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(String(d))));
      socket.write('x');
      return echoed;
    };
    try {
      const a = await open(ports.get('capped')!);
      const b = await open(ports.get('capped')!);
      assert.equal(await roundTrip(a), 'x');
      assert.equal(await roundTrip(b), 'x');
      const c = await open(ports.get('capped')!);
      assert.equal(await closedWithin(c, 1_000), true, 'the third connection is closed');
      assert.equal(proxy.listenerCounters().get('capped')!.refused, 1);

      const first = await open(ports.get('per-endpoint')!);
      assert.equal(await roundTrip(first), 'x');
      const second = await open(ports.get('per-endpoint')!);
      second.write('y');
      assert.equal(await closedWithin(second, 1_000), true, 'the endpoint is at its limit');
      for (const s of [a, b, first]) s.destroy();
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
      echo.close();
      echo2.close();
    }
  });

  it('caps bandwidth per connection', async () => {
    const echo = echoServer();
    const port = await listen(echo);
    const { proxy, ports } = await startL4({
      listeners: [
        {
          name: 'slow',
          address: '127.0.0.1',
          port: 0,
          protocol: 'tcp',
          service: 'e',
          maxBytesPerSecond: 512 * 1024,
        },
      ],
      services: [{ name: 'e', endpoints: [{ address: '127.0.0.1', port }] }],
    });
    try {
      const socket = await open(ports.get('slow')!);
      let received = 0;
      const started = Date.now();
      const done = new Promise<void>((resolve) =>
        socket.on('data', (d: Buffer) => {
          received += d.length;
          if (received >= 1.5 * MiB) resolve();
        }),
      );
      socket.write(Buffer.alloc(1.5 * MiB));
      await done;
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 1_500, `1.5 MiB at 512 KiB/s took ${elapsed} ms`);
      socket.destroy();
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
      echo.close();
    }
  });

  it('sends a PROXY protocol v2 header to endpoints that want one', async () => {
    const heads: Buffer[] = [];
    const backend = createServer((socket) =>
      socket.once('data', (d: Buffer) => {
        heads.push(d);
        socket.end();
      }),
    );
    const port = await listen(backend);
    const { proxy, ports } = await startL4({
      listeners: [{ name: 'tcp', address: '127.0.0.1', port: 0, protocol: 'tcp', service: 'pp' }],
      services: [{ name: 'pp', endpoints: [{ address: '127.0.0.1', port }], proxyProtocol: 'v2' }],
    });
    try {
      const socket = await open(ports.get('tcp')!);
      socket.write('payload');
      await closedWithin(socket, 2_000);
      const head = Buffer.concat(heads);
      assert.equal(head.subarray(0, 12).toString('hex'), '0d0a0d0a000d0a515549540a');
      assert.equal(head[12], 0x21);
      assert.equal(head[13], 0x11);
      assert.equal(`${head[16]}.${head[17]}.${head[18]}.${head[19]}`, '127.0.0.1');
      assert.equal(head.readUInt16BE(24), socket.localPort);
      assert.equal(head.readUInt16BE(26), ports.get('tcp'));
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
      backend.close();
    }
  });
});

describe('TLS passthrough by SNI', () => {
  async function tlsBackend(name: string, names: string[]) {
    const { cert, key } = makeCert(names);
    const server = createTlsServer({ cert, key, ALPNProtocols: ['h2', 'http/1.1'] }, (socket) => {
      socket.end(`${name} ${socket.servername} ${socket.alpnProtocol}`);
    });
    return { name, cert, server, port: await listen(server as unknown as Server) };
  }

  it('routes by SNI (two names and a wildcard, plus a default) while the client verifies the backend itself', async () => {
    const a = await tlsBackend('A', ['a.example']);
    const b = await tlsBackend('B', ['b.example']);
    const w = await tlsBackend('W', ['*.wild.example']);
    const d = await tlsBackend('D', ['default.example']);
    const svc = (n: string, p: number) => ({ name: n, endpoints: [{ address: '127.0.0.1', port: p }] });
    const { proxy, ports } = await startL4({
      listeners: [
        {
          name: 'tls',
          address: '127.0.0.1',
          port: 0,
          protocol: 'tls-passthrough',
          sni: [
            { host: 'a.example', service: 'a' },
            { host: 'b.example', service: 'b' },
            { host: '*.wild.example', service: 'w' },
          ],
          defaultService: 'd',
          clientHelloTimeoutMs: 500,
        },
      ],
      services: [svc('a', a.port), svc('b', b.port), svc('w', w.port), svc('d', d.port)],
    });
    const hello = (servername: string, ca: string, split = false) =>
      new Promise<string>((resolve, reject) => {
        const run = (port: number) => {
          const socket = tlsConnect(
            { host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['h2'] },
            () => {},
          );
          let text = '';
          socket.on('data', (c: Buffer) => {
            text += c;
          });
          socket.on('end', () => resolve(text));
          socket.on('error', reject);
        };
        if (!split) return run(ports.get('tls')!);
        // A relay that forwards the client's bytes to Portico one byte per write.
        const relay = createServer((client) => {
          const upstream = connect({ host: '127.0.0.1', port: ports.get('tls')!, noDelay: true });
          let queue = Promise.resolve();
          client.on('data', (chunk: Buffer) => {
            for (const byte of chunk) {
              queue = queue.then(
                () => new Promise<void>((r) => upstream.write(Buffer.from([byte]), () => setImmediate(r))),
              );
            }
          });
          upstream.pipe(client);
          client.on('close', () => upstream.destroy());
          client.on('error', () => upstream.destroy());
          upstream.on('error', () => client.destroy());
        });
        listen(relay).then(run, reject);
      });
    try {
      assert.equal(await hello('a.example', a.cert), 'A a.example h2');
      assert.equal(await hello('b.example', b.cert), 'B b.example h2');
      assert.equal(await hello('api.wild.example', w.cert), 'W api.wild.example h2');
      assert.equal(
        await hello('default.example', d.cert),
        'D default.example h2',
        'no sni entry: the default service',
      );
      assert.equal(
        await hello('b.example', b.cert, true),
        'B b.example h2',
        'a ClientHello in 1-byte writes still routes',
      );
      await assert.rejects(
        hello('a.example', b.cert),
        /self-signed|unable to verify|certificate/i,
        "the client checks the backend's own certificate",
      );

      const garbage = await open(ports.get('tls')!);
      garbage.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(
        await closedWithin(garbage, 2_000),
        true,
        'not TLS: routed to the default, which rejects it',
      );
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
      for (const s of [a, b, w, d]) s.server.close();
    }
  });

  it('without a default, an unknown SNI or a stalled ClientHello is closed', async () => {
    const a = await tlsBackend('A', ['a.example']);
    const { proxy, ports } = await startL4({
      listeners: [
        {
          name: 'tls',
          address: '127.0.0.1',
          port: 0,
          protocol: 'tls-passthrough',
          sni: [{ host: 'a.example', service: 'a' }],
          clientHelloTimeoutMs: 300,
        },
      ],
      services: [{ name: 'a', endpoints: [{ address: '127.0.0.1', port: a.port }] }],
    });
    try {
      const unknown = tlsConnect({
        host: '127.0.0.1',
        port: ports.get('tls')!,
        servername: 'nope.example',
        ca: a.cert,
      });
      await assert.rejects(
        new Promise((resolve, reject) => {
          unknown.once('secureConnect', resolve);
          unknown.once('error', reject);
          unknown.once('close', () => reject(new Error('closed')));
        }),
      );
      const stalled = await open(ports.get('tls')!);
      stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])); // a record header, then nothing
      const started = Date.now();
      assert.equal(await closedWithin(stalled, 2_000), true);
      assert.ok(Date.now() - started < 1_200);
      assert.ok(proxy.listenerCounters().get('tls')!.unrouted >= 2);
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
      a.server.close();
    }
  });
});

describe('PROXY protocol on listeners', () => {
  it('takes the client address from a trusted PROXY header into X-Forwarded-For, and refuses one from anyone else', async () => {
    const backend = await startBackend('pp');
    const { proxy, ports } = await startL4({
      listeners: [
        {
          name: 'trusted',
          address: '127.0.0.1',
          port: 0,
          proxyProtocol: { trustedSources: ['127.0.0.0/8'] },
        },
        {
          name: 'untrusted',
          address: '127.0.0.1',
          port: 0,
          proxyProtocol: { trustedSources: ['10.0.0.0/8'] },
        },
      ],
      routes: [{ paths: [{ path: '/', service: 'b' }] }],
      services: [{ name: 'b', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    });
    try {
      const socket = await open(ports.get('trusted')!);
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d;
      });
      socket.write(
        'PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      );
      await closedWithin(socket, 2_000);
      const body = JSON.parse(text.slice(text.indexOf('{')));
      assert.equal(body.headers['x-forwarded-for'], '203.0.113.7');

      const spoof = await open(ports.get('untrusted')!);
      spoof.write('PROXY TCP4 6.6.6.6 127.0.0.1 40000 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(
        await closedWithin(spoof, 2_000),
        true,
        'a PROXY header from an untrusted source is refused',
      );
      const plain = await request(`http://127.0.0.1:${ports.get('untrusted')}/`, { headers: { host: 'x' } });
      assert.equal(
        JSON.parse(await plain.body.text()).headers['x-forwarded-for'],
        '127.0.0.1',
        'no header: served as usual',
      );

      const malformed = await open(ports.get('trusted')!);
      malformed.write('PROXY TCP4 1.2.3.4\r\nGET / HTTP/1.1\r\n\r\n');
      assert.equal(await closedWithin(malformed, 2_000), true, 'a malformed header closes the connection');
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
      await backend.close();
    }
  });

  it('reads a PROXY header before TLS on an https listener', async () => {
    const backend = await startBackend('pp');
    const shop = makeCert(['shop.example']);
    const { proxy, ports } = await startL4({
      listeners: [
        {
          name: 'tls',
          address: '127.0.0.1',
          port: 0,
          protocol: 'https',
          proxyProtocol: { trustedSources: ['127.0.0.0/8'] },
        },
      ],
      certificates: [{ name: 'shop', cert: shop.cert, key: shop.key }],
      routes: [{ paths: [{ path: '/', service: 'b' }] }],
      services: [{ name: 'b', endpoints: [{ address: '127.0.0.1', port: backend.port }] }],
    });
    try {
      // The ClientHello in the same segment as the header (TLS then reads through a JS stream), and after it.
      for (const [delayMs, client] of [
        [0, '203.0.113.9'],
        [50, '203.0.113.10'],
      ] as const) {
        const raw = await open(ports.get('tls')!);
        raw.write(`PROXY TCP4 ${client} 127.0.0.1 40000 443\r\n`);
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        const secure = tlsConnect({ socket: raw, servername: 'shop.example', ca: shop.cert });
        await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
        let text = '';
        secure.on('data', (d: Buffer) => {
          text += d;
        });
        secure.write('GET / HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n');
        await new Promise((resolve) => secure.once('end', resolve)); // Connection: close
        secure.destroy();
        const body = JSON.parse(text.slice(text.indexOf('{')));
        assert.equal(body.headers['x-forwarded-for'], client, `ClientHello ${delayMs} ms after the header`);
      }
    } finally {
      await proxy.close({ drainTimeoutMs: 100 });
      await backend.close();
    }
  });
});
