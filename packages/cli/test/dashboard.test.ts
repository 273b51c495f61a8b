import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type RunningPortico, startPortico } from 'portico';
import { Agent, Pool, request } from 'undici';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { makeCert } from '../../proxy/test/helpers/tls-certs.ts';

/** SCREENSHOTS is where the run leaves a picture of each page (test-output/ is not committed). */
const SCREENSHOTS = fileURLToPath(new URL('../../../test-output/', import.meta.url));
const TOKEN = 'a-token-of-at-least-16-characters';

/**
 * The dashboard in a real headless Chromium, under traffic: every page is opened and what it draws is
 * checked (charts, rates per path, endpoint states and the health timeline, certificates and the hosts
 * without one, listeners, config history and refusals, discovery), in light and dark, on a laptop and a
 * phone width; a screenshot of each is left in test-output/.
 */
describe('dashboard in a real headless Chromium', () => {
  let backend: Backend;
  let dir: string;
  let running: RunningPortico;
  let browser: Browser;
  let pool: Pool;
  let tls: Agent;
  let sending = true;
  let traffic: Promise<void>;
  const cert = makeCert(['shop.example']);

  const config = (extra = '') => `listeners:
  - { name: web, address: 127.0.0.1, port: 0 }
  - { name: secure, address: 127.0.0.1, port: 0, protocol: https }
certificates: [{ name: shop-cert, cert: ${JSON.stringify(cert.cert)}, key: ${JSON.stringify(cert.key)} }]
routes:
  - name: shop
    host: shop.example
    paths: [{ path: /api, service: web }, { path: /, service: web }]
  - name: blog
    host: blog.example
    paths: [{ path: /, service: web }]
services:
  - { name: web, endpoints: [{ address: 127.0.0.1, port: ${backend.port} }, { address: 127.0.0.1, port: 1, ready: false }] }
admin: { port: 0, token: ${TOKEN}, historyIntervalMs: 250 }
${extra}`;

  before(async () => {
    backend = await startBackend('dash');
    dir = await mkdtemp(join(tmpdir(), 'portico-dash-'));
    await writeFile(join(dir, 'portico.yaml'), config());
    running = await startPortico(
      { config: join(dir, 'portico.yaml') },
      pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() })),
    );
    pool = new Pool(`http://127.0.0.1:${running.proxy.listeners()[0]!.port}`, { connections: 4 });
    tls = new Agent({ connect: { rejectUnauthorized: false, servername: 'shop.example' } });
    // Traffic: /api three times as often as /, blog now and then, and a 404 for a host nobody serves.
    traffic = (async () => {
      const send = async (host: string, path: string) => {
        const res = await pool.request({ path, method: 'GET', headers: { host } });
        await res.body.dump();
      };
      for (let i = 0; i < 50_000 && sending; i++) {
        await send('shop.example', '/api/items');
        if (i % 3 === 0) await send('shop.example', '/');
        if (i % 5 === 0) await send('blog.example', '/post');
        if (i % 4 === 0) await send('nobody.example', '/');
        await new Promise((resolve) => setTimeout(resolve, 4));
      }
    })();
    browser = await chromium.launch({
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
    await mkdir(SCREENSHOTS, { recursive: true });
  });

  after(async () => {
    sending = false;
    await traffic;
    await pool.close();
    await tls.close();
    await browser?.close();
    await running.stop(200);
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** open loads a dashboard page and waits until it has rendered `renders` times. */
  const open = async (hash: string, options: { width?: number; dark?: boolean; renders?: number } = {}) => {
    const page = await browser.newPage({
      // The page's Content-Security-Policy forbids eval; the test's own waits need it.
      bypassCSP: true,
      viewport: { width: options.width ?? 1200, height: 800 },
      colorScheme: options.dark ? 'dark' : 'light',
    });
    await page.goto(`${running.adminUrl}/dashboard${hash}`);
    await page.waitForFunction(
      `Number(document.body.dataset.rendered ?? 0) >= ${options.renders ?? 1}`,
      null,
      {
        timeout: 15_000,
      },
    );
    return page;
  };
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(SCREENSHOTS, `dashboard-${name}.png`), fullPage: true });

  it('overview: charts of the last minutes, the unrouted traffic, 4xx and rates per route and service', async () => {
    // A few samples first (every 250 ms here; 5 s by default).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const page = await open('#/', { renders: 2 });
    assert.equal(await page.locator('#c-rate canvas').count(), 1, 'a requests chart is drawn');
    assert.equal(await page.locator('#c-latency canvas').count(), 1);
    assert.match(String(await page.locator('#c-latency .u-legend').textContent()), /p50.*p95.*p99/s);
    await page.waitForFunction(
      'Number(document.querySelector(\'[data-card="unrouted (404) /s"]\')?.textContent) > 0',
      null,
      { timeout: 10_000 },
    );
    const cards = async (label: string) => Number(await page.locator(`[data-card="${label}"]`).textContent());
    assert.ok((await cards('requests/s')) > 0);
    assert.ok((await cards('4xx /s')) >= 0);
    const shopRate = Number(await page.locator('[data-route="shop"] td').nth(2).textContent());
    const blogRate = Number(await page.locator('[data-route="blog"] td').nth(2).textContent());
    assert.ok(
      shopRate > blogRate && blogRate > 0,
      `shop ${shopRate}/s beside blog ${blogRate}/s: each its own`,
    );
    assert.match(String(await page.locator('[data-service="web"]').textContent()), /1 \/ 2/);
    await shot(page, 'overview');
    await page.close();
  });

  it('route page: charts and per-path rates that are per path', async () => {
    const page = await open('#/route/shop', { renders: 3 });
    assert.equal(await page.locator('#r-rate canvas').count(), 1);
    const rate = async (path: string) =>
      Number(await page.locator(`tr[data-path="${path}"] [data-rate]`).textContent());
    await page.waitForFunction(
      'Number(document.querySelector(\'tr[data-path="/api"] [data-rate]\')?.textContent) > 0',
      null,
      {
        timeout: 10_000,
      },
    );
    const api = await rate('/api');
    const rootRate = await rate('/');
    assert.ok(
      api > rootRate * 1.5,
      `/api ${api}/s is about three times / ${rootRate}/s, not the route's total twice`,
    );
    await shot(page, 'route');
    await page.close();
  });

  it('service page: endpoint states and a health timeline with reasons', async () => {
    // An operator takes the endpoint out of rotation: the timeline says so, with the reason.
    const res = await request(`${running.adminUrl}/endpoints/127.0.0.1:${backend.port}/disable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    const page = await open('#/service/web', { renders: 1 });
    assert.equal(await page.locator('td.state.disabled').count(), 1);
    assert.equal(await page.locator('td.state.not-ready').count(), 1);
    assert.match(
      String(await page.locator(`tr[data-event="127.0.0.1:${backend.port}"]`).first().textContent()),
      /out of rotation.*disabled/,
    );
    await shot(page, 'service');
    await page.close();
    const back = await request(`${running.adminUrl}/endpoints/127.0.0.1:${backend.port}/enable`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    await back.body.dump();
  });

  it('certificates, listeners, config history with a refusal, and discovery', async () => {
    // A second version, then a refused one: both show on the config page.
    const file = join(dir, 'portico.yaml');
    await writeFile(`${file}.tmp`, config().replace('name: blog', 'name: journal'));
    await rename(`${file}.tmp`, file);
    for (let i = 0; i < 100 && running.proxy.snapshot.version < 2; i++)
      await new Promise((r) => setTimeout(r, 50));
    await writeFile(`${file}.tmp`, config('bogus: true\n'));
    await rename(`${file}.tmp`, file);
    await new Promise((resolve) => setTimeout(resolve, 500));

    let page = await open('#/certificates');
    assert.match(
      String(await page.locator('tr[data-certificate="shop-cert"]').textContent()),
      /shop\.example/,
    );
    assert.match(String(await page.locator('#uncovered').textContent()), /blog\.example|journal\.example/);
    await shot(page, 'certificates');
    await page.close();

    page = await open('#/listeners');
    assert.equal(await page.locator('tr[data-listener]').count(), 2);
    await shot(page, 'listeners');
    await page.close();

    page = await open('#/config');
    assert.match(
      String(await page.locator('#t-history').textContent()),
      /routes added: journal; routes removed: blog/,
    );
    assert.match(String(await page.locator('#t-errors').textContent()), /bogus/);
    await shot(page, 'config');
    await page.close();

    page = await open('#/discovery');
    assert.match(String(await page.locator('#page').textContent()), /Source: file/);
    await shot(page, 'discovery');
    await page.close();
  });

  it('dark theme and a phone-sized screen', async () => {
    const page = await open('#/', { dark: true, width: 390, renders: 2 });
    assert.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark');
    const background = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    assert.equal(background, 'rgb(13, 17, 23)');
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    assert.ok(Number(overflow) <= 1, `no sideways scrolling on a phone (${overflow} px)`);
    await shot(page, 'overview-dark-phone');
    await page.close();
  });
});
