import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { startBackend } from '../../proxy/test/helpers/backend.ts';
import { PorticoProcess } from './helpers/portico-process.ts';

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('SIGTERM', () => {
  it('lets a slow in-flight request finish, refuses new connections, and exits 0', async () => {
    const slow = await startBackend('slow', (_req, res) => {
      setTimeout(() => res.end('finished slowly'), 1_500);
    });
    const dir = await mkdtemp(join(tmpdir(), 'portico-term-'));
    const file = join(dir, 'portico.yaml');
    await writeFile(
      file,
      `listeners: [{ name: http, address: 127.0.0.1, port: 0 }]
routes: [{ paths: [{ path: /, service: slow }] }]
services: [{ name: slow, endpoints: [{ address: 127.0.0.1, port: ${slow.port} }] }]
shutdown: { drainTimeoutMs: 10000 }
`,
    );
    const portico = new PorticoProcess(['run', '--config', file]);
    try {
      const port = await portico.listeningPort();
      const inFlight = request(`http://127.0.0.1:${port}/slow`, { headers: { host: 'x.example' } });
      await new Promise((resolve) => setTimeout(resolve, 300)); // the request is now at the backend
      assert.equal(slow.requests, 1);
      portico.child.kill('SIGTERM');
      await portico.waitForLog((l) => String(l['msg']).startsWith('stopping'));
      // The listening socket closes on the proxy's next event-loop turn: poll briefly, then insist.
      let refused = false;
      for (let i = 0; i < 20 && !refused; i++) {
        refused = !(await canConnect(port));
        if (!refused) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assert.equal(refused, true, 'new connections are refused while draining');
      assert.equal(await canConnect(port), false, 'and stay refused');
      const res = await inFlight;
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), 'finished slowly');
      assert.equal(await portico.exited, 0);
    } finally {
      portico.kill();
      await slow.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
