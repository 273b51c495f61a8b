import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type RunningPortico, startPortico } from 'portico';
import { Pool } from 'undici';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';

function configFor(service: Backend, extra = ''): string {
  return `listeners:
  - { name: http, address: 127.0.0.1, port: 0 }
routes:
  - host: app.example
    paths:
      - { path: /, service: app }
services:
  - name: app
    endpoints:
      - { address: 127.0.0.1, port: ${service.port} }
${extra}`;
}

/** writeAtomically replaces a file the way editors and config management do: write, then rename. */
async function writeAtomically(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

describe('config file changes while serving', () => {
  let dir: string;
  let file: string;
  let blue: Backend;
  let green: Backend;
  let running: RunningPortico;
  const logs: Record<string, unknown>[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-reload-'));
    file = join(dir, 'portico.yaml');
    [blue, green] = await Promise.all([startBackend('blue'), startBackend('green')]);
    await writeFile(file, configFor(blue));
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
        done();
      },
    });
    running = await startPortico({ config: file }, pino({ level: 'info' }, sink));
  });
  after(async () => {
    await running.stop(500);
    await Promise.all([blue.close(), green.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('re-routes within one second of an edit, failing no request of a steady loop', async () => {
    const port = running.proxy.listeners()[0]!.port;
    const client = new Pool(`http://127.0.0.1:${port}`, { connections: 4 });
    const seen: { at: number; backend: string; status: number }[] = [];
    let editedAt = 0;
    let stop = false;
    const loop = (async () => {
      const end = Date.now() + 8_000; // bounded in time and count
      for (let i = 0; i < 20_000 && !stop && Date.now() < end; i++) {
        const res = await client.request({ path: '/', method: 'GET', headers: { host: 'app.example' } });
        const body = await res.body.text();
        seen.push({
          at: Date.now(),
          status: res.statusCode,
          backend: res.statusCode === 200 ? JSON.parse(body).backend : '',
        });
        if (editedAt > 0 && seen.at(-1)!.backend === 'green' && Date.now() - editedAt > 300) stop = true;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    editedAt = Date.now();
    await writeAtomically(file, configFor(green));
    await loop;
    await client.close();

    assert.ok(seen.length > 50, `the loop ran (${seen.length} requests)`);
    assert.deepEqual(
      seen.filter((s) => s.status !== 200),
      [],
      'no failed request',
    );
    const firstGreen = seen.find((s) => s.backend === 'green');
    assert.ok(firstGreen, 'traffic moved to the new backend');
    assert.ok(firstGreen.at - editedAt < 1_000, `moved after ${firstGreen.at - editedAt} ms`);
    const afterSwitch = seen.filter((s) => s.at > firstGreen.at);
    assert.ok(
      afterSwitch.every((s) => s.backend === 'green'),
      'no request went back to the old backend',
    );
    const applied = logs.find((l) => l['msg'] === 'config applied');
    assert.ok(applied, 'the change is logged');
    assert.match(String(applied['summary']), /services changed: /, 'and what it changed');
  });

  it('keeps the last good config serving when the file breaks, and reports the error', async () => {
    const port = running.proxy.listeners()[0]!.port;
    const versionBefore = running.proxy.snapshot.version;
    await writeAtomically(
      file,
      `${configFor(green)}\nroutes: [ { paths: [ { path: nope, service: app } ] } ]\nbogus: 1\n`,
    );
    await writeAtomically(file, configFor(green).replace('service: app }', 'service: missing }'));
    const deadline = Date.now() + 3_000;
    while (
      !logs.some((l) => String(l['msg']).includes('no service named "missing"')) &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const error = logs.find((l) => String(l['msg']).includes('no service named "missing"'));
    assert.ok(error, 'the problem was logged');
    assert.equal(error['level'], 50);
    assert.match(String(error['where']), /portico\.yaml:6:\d+$/);
    assert.ok(logs.some((l) => String(l['msg']).includes('the last good config keeps serving')));
    assert.equal(running.proxy.snapshot.version, versionBefore, 'the snapshot was not replaced');
    const client = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
    const res = await client.request({ path: '/', method: 'GET', headers: { host: 'app.example' } });
    assert.equal(res.statusCode, 200);
    assert.equal(JSON.parse(await res.body.text()).backend, 'green');
    await client.close();
  });
});
