import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { type PeerCertificate, connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import { makeCert } from '../../../proxy/test/helpers/tls-certs.ts';
import { until } from './kube-harness.ts';

const PEBBLE = '/usr/bin/pebble';
const CHALLTESTSRV = '/usr/bin/pebble-challtestsrv';

/**
 * freePort finds a free TCP port on 127.0.0.1 below Linux's ephemeral range (32768-60999), so that no
 * socket bound to port 0 elsewhere (another test running at the same time) can take it before it is used.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }
}

/** listening resolves once something accepts TCP connections on the port (bounded: 10 s). */
async function listening(port: number): Promise<void> {
  await until(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = tcpConnect({ host: '127.0.0.1', port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
    10_000,
    `port ${port}`,
  );
}

/** served returns the certificate a TLS listener serves for `servername`, verified against `ca` when given. */
export function served(
  port: number,
  servername: string,
  ca?: string,
): Promise<{ cert: PeerCertificate; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port, servername, rejectUnauthorized: false, ...(ca === undefined ? {} : { ca }) },
      () => {
        resolve({ cert: socket.getPeerCertificate(), authorized: socket.authorized });
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

/** Pebble is Let's Encrypt's test CA running, with its mock DNS server answering 127.0.0.1 for every name. */
export interface Pebble {
  /** directoryUrl is the ACME directory. */
  readonly directoryUrl: string;
  /** caFile holds the certificate of pebble's own TLS listener, to trust (`acme.caFile`). */
  readonly caFile: string;
  /** root is pebble's root CA (PEM): what the certificates it issues chain to. */
  readonly root: string;
  /** addA makes `host` resolve to `addresses` in the mock DNS. */
  addA(host: string, addresses: string[]): Promise<void>;
  stop(): void;
}

/** PebblePlan is what is known of a pebble before it runs: where its directory will be and what to trust. */
export interface PebblePlan {
  readonly directoryUrl: string;
  readonly caFile: string;
  readonly ports: { acme: number; management: number; dns: number; dnsManagement: number };
  readonly tls: { cert: string; key: string };
}

/** planPebble picks pebble's ports and makes its TLS certificate, so a config can name them before it runs. */
export async function planPebble(dir: string): Promise<PebblePlan> {
  const ports = {
    acme: await freePort(),
    management: await freePort(),
    dns: await freePort(),
    dnsManagement: await freePort(),
  };
  const tls = makeCert(['127.0.0.1']);
  const caFile = join(dir, 'pebble-tls.pem');
  await writeFile(caFile, tls.cert);
  await writeFile(join(dir, 'pebble-tls.key'), tls.key);
  return { directoryUrl: `https://127.0.0.1:${ports.acme}/dir`, caFile, ports, tls };
}

/**
 * startPebble runs Debian's pebble and pebble-challtestsrv in `dir`, validating HTTP-01 on `httpPort` and
 * TLS-ALPN-01 on `tlsPort` of whatever address the mock DNS gives (127.0.0.1 unless told otherwise).
 */
export async function startPebble(
  dir: string,
  httpPort: number,
  tlsPort: number,
  plan?: PebblePlan,
): Promise<Pebble> {
  assert.ok(existsSync(PEBBLE), 'pebble is installed (scripts/ensure-test-tools.ts installs it)');
  const { ports, tls, caFile } = plan ?? (await planPebble(dir));
  await writeFile(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${ports.acme}`,
        managementListenAddress: `127.0.0.1:${ports.management}`,
        certificate: caFile,
        privateKey: join(dir, 'pebble-tls.key'),
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const children: ChildProcess[] = [
    spawn(
      CHALLTESTSRV,
      [
        ...['-dns01', `127.0.0.1:${ports.dns}`, '-http01', '', '-https01', '', '-tlsalpn01', ''],
        ...['-management', `127.0.0.1:${ports.dnsManagement}`, '-defaultIPv6', ''],
      ],
      { stdio: 'ignore' },
    ),
    spawn(PEBBLE, ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${ports.dns}`], {
      stdio: 'ignore',
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
    }),
  ];
  const stop = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  try {
    await listening(ports.dnsManagement);
    await listening(ports.acme);
    const trust = new Agent({ connect: { ca: tls.cert } });
    const roots = await request(`https://127.0.0.1:${ports.management}/roots/0`, { dispatcher: trust });
    const root = await roots.body.text();
    await trust.close();
    return {
      directoryUrl: `https://127.0.0.1:${ports.acme}/dir`,
      caFile,
      root,
      async addA(host, addresses) {
        const res = await request(`http://127.0.0.1:${ports.dnsManagement}/add-a`, {
          method: 'POST',
          body: JSON.stringify({ host: host.endsWith('.') ? host : `${host}.`, addresses }),
        });
        await res.body.dump();
      },
      stop,
    };
  } catch (error) {
    stop();
    throw error;
  }
}

/** AriFront is pebble's directory with ACME Renewal Information (RFC 9773) added, which pebble 2.4 lacks. */
export interface AriFront {
  readonly directoryUrl: string;
  /** window is the suggested renewal window the front answers with (Retry-After: 60). */
  window: { start: Date; end: Date };
  /** asked lists the certificate identifiers asked for. */
  readonly asked: string[];
  close(): Promise<void>;
}

/**
 * startAriFront serves, over HTTPS with pebble's own TLS certificate, pebble's directory plus a
 * `renewalInfo` URL, and answers renewal information with `window`: a stand-in for a CA with ARI.
 */
export async function startAriFront(dir: string, pebble: Pebble): Promise<AriFront> {
  const trust = new Agent({ connect: { ca: await readFile(pebble.caFile) } });
  const front: AriFront = {
    directoryUrl: '',
    window: { start: new Date(), end: new Date() },
    asked: [],
    close: async () => {
      await trust.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = createHttpsServer(
    { cert: await readFile(pebble.caFile), key: await readFile(join(dir, 'pebble-tls.key')) },
    (req, res) => {
      void (async () => {
        if (req.url === '/dir') {
          const directory = (await (
            await request(pebble.directoryUrl, { dispatcher: trust })
          ).body.json()) as object;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ ...directory, renewalInfo: `${origin}/renewal-info` }));
          return;
        }
        const id = /^\/renewal-info\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
        if (req.method !== 'GET' || id === undefined) {
          res.statusCode = 404;
          res.end();
          return;
        }
        (front.asked as string[]).push(id);
        res.setHeader('content-type', 'application/json');
        res.setHeader('retry-after', '60');
        res.end(JSON.stringify({ suggestedWindow: front.window }));
      })();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  (front as { directoryUrl: string }).directoryUrl = `${origin}/dir`;
  return front;
}
