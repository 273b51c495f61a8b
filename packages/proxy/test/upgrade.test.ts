import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { writeInBursts } from './helpers/bursts.ts';
import { RawClient } from './helpers/raw-client.ts';
import { startProxy, type TestProxy } from './helpers/start-proxy.ts';

/** FIREHOSE is what the tunnel test's upstream sends: random, never periodic bytes. */
const FIREHOSE = randomBytes(6 * 1024 * 1024);

describe('Upgrade', () => {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        upgrade: req.headers.upgrade ?? null,
        connection: req.headers.connection ?? null,
        settings: req.headers['http2-settings'] ?? null,
      }),
    );
  });
  let proxy: TestProxy;

  before(async () => {
    server.on('upgrade', (req, socket, head) => {
      if (req.headers.upgrade !== 'websocket') {
        socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        return;
      }
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      if (req.url === '/firehose') {
        writeInBursts(socket, FIREHOSE); // what a client must receive intact, then the end
        return;
      }
      if (head.length > 0) socket.write(head);
      socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk}`));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = await startProxy({
      routes: [{ paths: [{ path: '/', service: 'ws' }] }],
      services: [
        { name: 'ws', endpoints: [{ address: '127.0.0.1', port: (server.address() as AddressInfo).port }] },
      ],
    });
  });
  after(async () => {
    await proxy.close();
    server.closeAllConnections();
    server.close();
  });

  it('forwards the 101 and splices bytes both ways until a side closes', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(
      'GET /chat HTTP/1.1\r\nHost: ws.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    const head = await client.waitFor((t) => t.includes('\r\n\r\n'));
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(head, /\r\nconnection: upgrade\r\nupgrade: websocket\r\n/i);
    client.write('ping-1');
    await client.waitFor((t) => t.endsWith('echo:ping-1'));
    client.write(Buffer.alloc(256 * 1024, 0x62));
    await client.waitFor((t) => t.length >= head.length + 'echo:ping-1'.length + 256 * 1024 + 5);
    client.socket.end();
    await client.waitForClose();
  });

  it('relays a tunnel of random bytes intact to a client that stalls now and then', async () => {
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    const hash = createHash('sha256');
    let head: Buffer | undefined = Buffer.alloc(0);
    let bytes = 0;
    let stalls = 0;
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        let body = chunk;
        if (head !== undefined) {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          assert.match(head.toString('latin1', 0, end), /^HTTP\/1\.1 101 /);
          body = head.subarray(end + 4);
          head = undefined;
        }
        hash.update(body);
        bytes += body.length;
        if (bytes >= stalls * 1024 * 1024) {
          stalls++; // the proxy's writes to this client wait in Node meanwhile
          socket.pause();
          setTimeout(() => socket.resume(), 40);
        }
      });
      socket.once('end', () => resolve());
      socket.once('error', reject);
      socket.write(
        'GET /firehose HTTP/1.1\r\nHost: ws.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      );
    });
    socket.destroy();
    assert.equal(bytes, FIREHOSE.length);
    assert.equal(hash.digest('hex'), createHash('sha256').update(FIREHOSE).digest('hex'));
  });

  it('refuses the h2c upgrade: the request goes upstream as plain HTTP/1.1', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(
      'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
    );
    const text = await client.waitFor((t) => t.includes('}'));
    client.close();
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    const body = JSON.parse(text.slice(text.indexOf('{')));
    assert.deepEqual(body, { upgrade: null, connection: null, settings: null });
  });
});
