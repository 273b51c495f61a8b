import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { VERSION } from '../version.ts';
import { startPortico } from './run.ts';

/** REPOSITORY_DEMO_CONFIG is the demo config in a checkout of the repository: `examples/static/portico.yaml`. */
const REPOSITORY_DEMO_CONFIG = fileURLToPath(
  new URL('../../../../examples/static/portico.yaml', import.meta.url),
);
/** PACKAGED_DEMO_CONFIG is the copy the `portico` package ships (`pnpm docs:generate` keeps it the same). */
export const PACKAGED_DEMO_CONFIG = fileURLToPath(new URL('../../demo/portico.yaml', import.meta.url));

/**
 * demoConfig is the file the demo serves: the repository's example in a checkout; from an installed
 * package, a copy of the packaged one in a temporary directory, so that it can be edited.
 */
export function demoConfig(): string {
  if (existsSync(REPOSITORY_DEMO_CONFIG)) return REPOSITORY_DEMO_CONFIG;
  const file = join(mkdtempSync(join(tmpdir(), 'portico-demo-')), 'portico.yaml');
  copyFileSync(PACKAGED_DEMO_CONFIG, file);
  return file;
}

/** DEMO_BACKENDS are the demo's backends and the ports the demo config sends to. */
const DEMO_BACKENDS = [
  { name: 'web-1', port: 9101 },
  { name: 'web-2', port: 9102 },
  { name: 'api-1', port: 9201 },
];

/** startDemoBackend starts a tiny HTTP server that says who it is and what it was asked. */
function startDemoBackend(name: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        `${JSON.stringify({ servedBy: name, method: req.method, url: req.url, host: req.headers.host, bodyBytes: bytes })}\n`,
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * runDemo starts the demo backends and Portico with the demo config, prints what to try, and on
 * SIGINT/SIGTERM drains and exits 0.
 */
export async function runDemo(): Promise<void> {
  const log = pino({ level: 'info' });
  const servers = await Promise.all(DEMO_BACKENDS.map((b) => startDemoBackend(b.name, b.port)));
  const config = demoConfig();
  const running = await startPortico({ config }, log);
  const port = running.proxy.listeners()[0]!.port;
  const dashboard = running.adminUrl === undefined ? '' : `\nDashboard: ${running.adminUrl}/dashboard\n`;
  console.log(`Portico ${VERSION} is serving ${config}
on http://127.0.0.1:${port}, in front of demo backends on ports ${DEMO_BACKENDS.map((b) => b.port).join(', ')}.
${dashboard}
Try:
  curl -s http://127.0.0.1:${port}/ -H 'Host: www.demo.localhost'        # round robin over web-1, web-2
  curl -s http://127.0.0.1:${port}/api/users -H 'Host: www.demo.localhost'   # Prefix /api goes to api-1
  curl -s http://127.0.0.1:${port}/ -H 'Host: shop.demo.localhost'       # *.demo.localhost wildcard
  curl -si http://127.0.0.1:${port}/ -H 'Host: unknown.example'          # no route: 404

Edit ${config} and save: the change is live at once (a broken edit is reported
and the last good config keeps serving). Ctrl-C drains and stops.`);
  const stop = async () => {
    await running.stop(2_000);
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
