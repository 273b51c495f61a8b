import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { type RunningPortico, startPortico } from 'portico';
import { Pool } from 'undici';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';

/** SCREENSHOT is where the run leaves a picture of the dashboard (test-output/ is not committed). */
const SCREENSHOT = fileURLToPath(new URL('../../../test-output/dashboard.png', import.meta.url));

describe('dashboard in a real headless Chromium', () => {
  let backend: Backend;
  let dir: string;
  let running: RunningPortico;

  before(async () => {
    backend = await startBackend('dash');
    dir = await mkdtemp(join(tmpdir(), 'portico-dash-'));
    await writeFile(
      join(dir, 'portico.yaml'),
      `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]
routes: [{ name: shop, host: shop.example, paths: [{ path: /, service: web }] }]
services:
  - { name: web, endpoints: [{ address: 127.0.0.1, port: ${backend.port} }, { address: 127.0.0.1, port: 1, ready: false }] }
admin: { port: 0 }
`,
    );
    running = await startPortico(
      { config: join(dir, 'portico.yaml') },
      pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() })),
    );
  });
  after(async () => {
    await running.stop(200);
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows routes, endpoint state and a live request rate, updating without reload', async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const pool = new Pool(`http://127.0.0.1:${running.proxy.listeners()[0]!.port}`, { connections: 4 });
    let sending = true;
    const traffic = (async () => {
      for (let i = 0; i < 20_000 && sending; i++) {
        const res = await pool.request({ path: '/', method: 'GET', headers: { host: 'shop.example' } });
        await res.body.text();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
      await page.goto(`${running.adminUrl}/dashboard`);
      await page.locator('#status').filter({ hasText: 'config v1' }).waitFor({ timeout: 10_000 });
      await page.locator('[data-service="web"]').waitFor();
      assert.equal(await page.locator('[data-route="shop"] td').first().textContent(), 'shop');
      assert.equal(await page.locator('td.state.available').count(), 1);
      assert.equal(await page.locator('td.state.not-ready').count(), 1);
      // The rate cell is empty on the first reading and fills from the second poll on, without reload.
      await page.waitForFunction(
        'Number(document.querySelector(\'[data-route="shop"] .rate\')?.textContent) > 0',
        null,
        {
          timeout: 10_000,
        },
      );
      const rate = Number(await page.locator('[data-route="shop"] .rate').textContent());
      assert.ok(rate > 0, `rate ${rate}/s`);
      await mkdir(join(SCREENSHOT, '..'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      sending = false;
      await traffic;
      await pool.close();
      await browser.close();
    }
  });
});
