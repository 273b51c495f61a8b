import assert from 'node:assert/strict';
import { constants, createServer as createH2cServer, connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { startProxy, type TestProxy } from './helpers/start-proxy.ts';
import { makeCert, type TestCert } from './helpers/tls-certs.ts';

/** Messages are JSON, so the test needs no .proto: gRPC carries bytes, the codec is the app's choice. */
const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()),
};
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/portico.test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: json.serialize,
  requestDeserialize: json.deserialize,
  responseSerialize: json.serialize,
  responseDeserialize: json.deserialize,
});
const SERVICE = {
  unary: method('Unary', false, false),
  serverStream: method('ServerStream', false, true),
  clientStream: method('ClientStream', true, false),
  bidi: method('Bidi', true, true),
  fail: method('Fail', false, false),
  slow: method('Slow', false, false),
} as const;

type Json = Record<string, unknown>;
type Client = grpc.Client & Record<keyof typeof SERVICE, (...args: unknown[]) => unknown>;
const EchoClient = grpc.makeGenericClientConstructor(SERVICE, 'Echo') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => Client;

describe('gRPC through Portico: HTTP/2 to the endpoints, trailers both ways', () => {
  let server: grpc.Server;
  let proxy: TestProxy;
  let cert: TestCert;
  let h2cPort: number;
  let tlsPort: number;
  let cancelled = 0;
  const clients: Client[] = [];

  before(async () => {
    server = new grpc.Server();
    server.addService(SERVICE, {
      unary: (call: grpc.ServerUnaryCall<Json, Json>, callback: grpc.sendUnaryData<Json>) => {
        call.sendMetadata(new grpc.Metadata());
        const trailer = new grpc.Metadata();
        trailer.set('x-trailer', 'from-server');
        callback(
          null,
          { echo: call.request, authority: call.getPath(), tenant: call.metadata.get('x-tenant')[0] },
          trailer,
        );
      },
      serverStream: (call: grpc.ServerWritableStream<Json, Json>) => {
        for (let i = 0; i < (call.request['count'] as number); i++) call.write({ i });
        call.end();
      },
      clientStream: (call: grpc.ServerReadableStream<Json, Json>, callback: grpc.sendUnaryData<Json>) => {
        let sum = 0;
        let bytes = 0;
        call.on('data', (m: Json) => {
          sum += (m['n'] as number) ?? 0;
          bytes += typeof m['pad'] === 'string' ? m['pad'].length : 0;
        });
        call.on('end', () => callback(null, { sum, bytes }));
      },
      bidi: (call: grpc.ServerDuplexStream<Json, Json>) => {
        call.on('data', (m: Json) => call.write({ back: m['n'] }));
        call.on('end', () => call.end());
      },
      fail: (_call: grpc.ServerUnaryCall<Json, Json>, callback: grpc.sendUnaryData<Json>) => {
        callback({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
      },
      slow: (call: grpc.ServerUnaryCall<Json, Json>, callback: grpc.sendUnaryData<Json>) => {
        const timer = setTimeout(() => callback(null, {}), 3_000);
        call.on('cancelled', () => {
          cancelled++;
          clearTimeout(timer);
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    cert = makeCert(['grpc.example']);
    proxy = await startProxy({
      listeners: [
        { name: 'h2c', address: '127.0.0.1', port: 0, h2c: true },
        { name: 'tls', address: '127.0.0.1', port: 0, protocol: 'https' },
      ],
      certificates: [{ name: 'grpc', cert: cert.cert, key: cert.key }],
      routes: [
        {
          paths: [{ path: '/portico.test.Echo/', service: 'echo' }],
          requestHeaders: { set: { 'x-tenant': 'blue' } },
        },
      ],
      services: [{ name: 'echo', protocol: 'http2', endpoints: [{ address: '127.0.0.1', port }] }],
    });
    const bound = proxy.proxy.listeners();
    h2cPort = bound.find((l) => l.name === 'h2c')!.port;
    tlsPort = bound.find((l) => l.name === 'tls')!.port;
  });
  after(async () => {
    for (const client of clients) client.close();
    await proxy.close();
    server.forceShutdown();
  });

  const viaH2c = () => {
    const client = new EchoClient(`127.0.0.1:${h2cPort}`, grpc.credentials.createInsecure());
    clients.push(client);
    return client;
  };
  const viaTls = () => {
    const client = new EchoClient(
      `127.0.0.1:${tlsPort}`,
      grpc.credentials.createSsl(Buffer.from(cert.cert)),
      {
        'grpc.ssl_target_name_override': 'grpc.example',
        'grpc.default_authority': 'grpc.example',
      },
    );
    clients.push(client);
    return client;
  };

  function unary(
    client: Client,
    name: 'unary' | 'fail' | 'slow',
    request: Json,
    options: grpc.CallOptions = {},
  ) {
    return new Promise<{ error: grpc.ServiceError | null; response: Json; trailers: grpc.Metadata }>(
      (resolve) => {
        let trailers = new grpc.Metadata();
        const call = client[name](
          request,
          new grpc.Metadata(),
          options,
          (error: grpc.ServiceError | null, response: Json) =>
            setImmediate(() => resolve({ error, response, trailers })),
        ) as grpc.ClientUnaryCall;
        call.on('status', (status: grpc.StatusObject) => {
          trailers = status.metadata;
        });
      },
    );
  }

  for (const [transport, connect] of [
    ['h2c', viaH2c],
    ['h2 over TLS', viaTls],
  ] as const) {
    it(`${transport}: a unary call reaches the server with the route's header and returns its trailers`, async () => {
      const { error, response, trailers } = await unary(connect(), 'unary', { hello: 'world' });
      assert.equal(error, null);
      assert.deepEqual(response['echo'], { hello: 'world' });
      assert.equal(response['tenant'], 'blue', 'the route filter ran on the gRPC request');
      assert.deepEqual(trailers.get('x-trailer'), ['from-server'], 'trailing metadata passed through');
    });
  }

  it('a failing call carries grpc-status and grpc-message through (trailers-only response)', async () => {
    const { error } = await unary(viaH2c(), 'fail', {});
    assert.equal(error?.code, grpc.status.NOT_FOUND);
    assert.equal(error?.details, 'no such thing');
  });

  it('server streaming delivers every message in order', async () => {
    const call = viaH2c().serverStream({ count: 200 }) as grpc.ClientReadableStream<Json>;
    const seen: number[] = [];
    call.on('data', (m: Json) => seen.push(m['i'] as number));
    const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(
      seen,
      Array.from({ length: 200 }, (_, i) => i),
    );
  });

  it('client streaming carries 8 MiB up with flow control and answers once', async () => {
    const pad = 'x'.repeat(64 * 1024);
    const response = await new Promise<Json>((resolve, reject) => {
      const call = viaH2c().clientStream((error: grpc.ServiceError | null, res: Json) =>
        error ? reject(error) : resolve(res),
      ) as grpc.ClientWritableStream<Json>;
      for (let n = 1; n <= 128; n++) call.write({ n, pad });
      call.end();
    });
    assert.deepEqual(response, { sum: (128 * 129) / 2, bytes: 128 * pad.length });
  });

  it('bidirectional streaming interleaves both ways', async () => {
    const call = viaTls().bidi() as grpc.ClientDuplexStream<Json, Json>;
    const back: number[] = [];
    for (let n = 0; n < 5; n++) {
      call.write({ n });
      back.push(
        await new Promise<number>((resolve) => call.once('data', (m: Json) => resolve(m['back'] as number))),
      );
    }
    call.end();
    const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(back, [0, 1, 2, 3, 4], 'each reply came before the next message was sent');
  });

  it('a deadline the client sets ends the call, and the server sees it cancelled', async () => {
    const before = cancelled;
    const started = Date.now();
    const { error } = await unary(viaH2c(), 'slow', {}, { deadline: Date.now() + 300 });
    assert.equal(error?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 2_000, 'not held until the server answered');
    for (let i = 0; i < 50 && cancelled === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(cancelled, before + 1, 'the upstream stream was cancelled too');
  });
});

describe('an HTTP/2 upstream behind HTTP/1.1 and HTTP/2 clients', () => {
  let upstream: ReturnType<typeof createH2cServer>;
  let proxy: TestProxy;
  let seen: { method: string; path: string; authority: string; body: number; te: string | undefined }[] = [];

  before(async () => {
    upstream = createH2cServer();
    upstream.on('stream', (stream, headers) => {
      let body = 0;
      stream.on('data', (c: Buffer) => {
        body += c.length;
      });
      stream.on('end', () => {
        seen.push({
          method: String(headers[':method']),
          path: String(headers[':path']),
          authority: String(headers[':authority']),
          body,
          te: headers.te as string | undefined,
        });
        stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'x-digest': String(body) }));
        stream.end(`got ${body}`);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    proxy = await startProxy({
      listeners: [{ name: 'web', address: '127.0.0.1', port: 0, h2c: true }],
      routes: [{ host: 'app.example', paths: [{ path: '/', service: 'h2' }], rewriteTarget: '/v2/' }],
      services: [
        {
          name: 'h2',
          protocol: 'http2',
          endpoints: [{ address: '127.0.0.1', port: (upstream.address() as AddressInfo).port }],
        },
      ],
    });
  });
  after(async () => {
    await proxy.close();
    upstream.close();
  });

  it('an HTTP/1.1 chunked upload goes up as HTTP/2 DATA, and the response comes back chunked', async () => {
    seen = [];
    const body = Buffer.alloc(300_000, 7);
    const res = await request(`${proxy.url}/upload`, {
      method: 'POST',
      headers: { host: 'app.example' }, // a stream of unknown length: undici sends it chunked
      body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]),
    });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), `got ${body.length}`);
    assert.equal(
      res.headers['transfer-encoding'],
      'chunked',
      'no length known: chunked to the HTTP/1.1 client',
    );
    assert.deepEqual(seen, [
      { method: 'POST', path: '/v2/upload', authority: 'app.example', body: 300_000, te: 'trailers' },
    ]);
  });

  it('an HTTP/2 client gets the upstream trailers when it accepts them', async () => {
    const session = h2connect(proxy.url);
    const stream = session.request({
      ':method': 'GET',
      ':path': '/x',
      ':authority': 'app.example',
      te: 'trailers',
    });
    const trailers = await new Promise<Record<string, unknown>>((resolve) => {
      stream.on('trailers', resolve);
      stream.resume();
    });
    session.close();
    assert.equal(trailers['x-digest'], '0');
  });
});

describe('HTTP/2 upstream failures', () => {
  let upstream: ReturnType<typeof createH2cServer>;
  let proxy: TestProxy;
  let deadPort: number;

  before(async () => {
    upstream = createH2cServer();
    upstream.on('stream', (stream, headers) => {
      if (headers[':path'] === '/cut') {
        stream.on('error', () => {}); // the reset below is this server's own doing
        stream.respond({ ':status': 200 });
        stream.write('partial');
        // destroy(error) resets without END_STREAM (close(code) would end the stream cleanly first).
        setTimeout(() => stream.destroy(new Error('cut')), 20);
        return;
      }
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const dead = createH2cServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    deadPort = (dead.address() as AddressInfo).port;
    await new Promise((resolve) => dead.close(resolve)); // nothing listens there now
    proxy = await startProxy({
      listeners: [{ name: 'web', address: '127.0.0.1', port: 0, h2c: true }],
      routes: [{ paths: [{ path: '/', service: 'h2' }] }],
      services: [
        {
          name: 'h2',
          protocol: 'http2',
          balancer: 'round-robin',
          endpoints: [
            { address: '127.0.0.1', port: deadPort },
            { address: '127.0.0.1', port: (upstream.address() as AddressInfo).port },
          ],
        },
      ],
    });
  });
  after(async () => {
    await proxy.close();
    upstream.close();
  });

  it('an endpoint that refuses the connection is skipped: every request is served by the other', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await request(`${proxy.url}/`, { headers: { host: 'app.example' } });
      assert.equal(res.statusCode, 200, `request ${i}`);
      assert.equal(await res.body.text(), 'ok');
    }
  });

  it('a stream the upstream resets mid-response reaches an HTTP/2 client as a reset, never a clean end', async () => {
    const session = h2connect(proxy.url);
    session.on('error', () => {});
    const stream = session.request({ ':path': '/cut', ':authority': 'app.example' });
    // A reset ends the readable side too: only the close code tells a cut from a complete response.
    const outcome = await new Promise<string>((resolve) => {
      stream.on('data', () => {});
      stream.on('error', () => {});
      stream.on('close', () =>
        resolve(stream.rstCode === constants.NGHTTP2_NO_ERROR ? 'clean end' : 'reset'),
      );
    });
    session.close();
    assert.equal(outcome, 'reset');
  });
});
