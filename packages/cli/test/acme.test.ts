import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type RunningPortico, startPortico } from 'portico';
import { request } from 'undici';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { until } from './helpers/kube-harness.ts';
import { freePort, type Pebble, served, startAriFront, startPebble } from './helpers/pebble.ts';
import { PorticoProcess } from './helpers/portico-process.ts';

/**
 * ACME against a real ACME server: Let's Encrypt's test CA, pebble (Debian's package, with its mock DNS
 * server pebble-challtestsrv answering 127.0.0.1 for every name), validating HTTP-01 against Portico's own
 * HTTP listener. A host gets a certificate with no manual step and is served over HTTPS; a failing host
 * is reported and keeps the default certificate; a restart serves the stored certificate without
 * ordering again; a due certificate is renewed.
 */
describe('ACME: certificates from pebble, proven by HTTP-01 and TLS-ALPN-01 on Portico itself', () => {
  let dir: string;
  let backend: Backend;
  let ports: { http: number; https: number };
  let pebble: Pebble;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-acme-'));
    backend = await startBackend('site');
    ports = { http: await freePort(), https: await freePort() };
    pebble = await startPebble(dir, ports.http, ports.https);
    // acme-fail.test resolves to 127.0.0.2, where nothing listens: its HTTP-01 validation cannot succeed.
    await pebble.addA('acme-fail.test', ['127.0.0.2']);
  });

  after(async () => {
    pebble?.stop();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** run starts Portico with ACME for `hosts` (and an HTTP listener unless told), returning it and its log lines. */
  const run = async (
    hosts: string[],
    extra = '',
    httpListener = true,
    directoryUrl = pebble.directoryUrl,
  ) => {
    const config = await writeConfig(hosts, extra, httpListener, directoryUrl);
    const logs: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line));
        done();
      },
    });
    const running: RunningPortico = await startPortico({ config }, pino({ level: 'info' }, sink));
    return { running, logs };
  };

  /** writeConfig writes the config `run` starts Portico with, returning its path. */
  const writeConfig = async (
    hosts: string[],
    extra: string,
    httpListener: boolean,
    directoryUrl = pebble.directoryUrl,
  ) => {
    const config = join(dir, 'portico.yaml');
    await writeFile(
      config,
      `listeners:
${httpListener ? `  - { name: http, address: 127.0.0.1, port: ${ports.http} }\n` : ''}  - { name: https, address: 127.0.0.1, port: ${ports.https}, protocol: https, tls: {} }
routes:
  - { name: site, host: acme-one.test, httpsRedirect: true, paths: [{ path: /, service: site }] }
services:
  - { name: site, endpoints: [{ address: 127.0.0.1, port: ${backend.port} }] }
acme:
  directoryUrl: ${directoryUrl}
  email: ops@example.test
  storageDir: ${join(dir, 'acme')}
  hosts: ${JSON.stringify(hosts)}
  caFile: ${pebble.caFile}
  checkIntervalMs: 1000
  retryMinMs: 1000
${extra}admin: { address: 127.0.0.1, port: 0 }
`,
    );
    return config;
  };
  const messages = (logs: Record<string, unknown>[]) => logs.map((l) => String(l['msg']));

  it('a static config without acme.hosts or acme.storageDir is refused at start, saying which', async () => {
    const config = join(dir, 'incomplete.yaml');
    await writeFile(
      config,
      `listeners: [{ name: http, address: 127.0.0.1, port: 0 }]\nacme: { directoryUrl: ${pebble.directoryUrl} }\n`,
    );
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    await assert.rejects(
      startPortico({ config }, pino({ level: 'info' }, sink)),
      /acme: a static config needs acme.hosts and acme.storageDir/,
    );
    assert.ok(
      lines.some((l) => l.includes('acme: a static config needs acme.hosts and acme.storageDir')),
      lines.join(''),
    );
  });

  it('a fresh host gets a certificate from the CA and is served over HTTPS; a failing one is reported', async () => {
    const { running, logs } = await run(['acme-one.test', 'acme-fail.test']);
    try {
      await until(
        async () => /Pebble/.test(String((await served(ports.https, 'acme-one.test')).cert.issuer?.CN)),
        30_000,
        'a certificate from pebble served for acme-one.test',
      );
      const { cert, authorized } = await served(ports.https, 'acme-one.test', pebble.root);
      assert.equal(cert.subject?.CN, 'acme-one.test');
      assert.ok(authorized, "the chain verifies against pebble's root");
      // The challenge answer came before the route's HTTPS redirect: the redirect still works for the rest.
      const res = await request(`http://127.0.0.1:${ports.http}/page`, {
        headers: { host: 'acme-one.test' },
      });
      await res.body.dump();
      assert.equal(res.statusCode, 301);
      await until(
        () => messages(logs).some((m) => m.startsWith('ACME order for acme-fail.test failed')),
        30_000,
        'the failed order reported',
      );
      const failing = await served(ports.https, 'acme-fail.test');
      assert.equal(
        failing.cert.subject?.CN,
        'Portico Default Certificate',
        'the failing host keeps the default certificate',
      );
      assert.ok(messages(logs).some((m) => /certificate for acme-one\.test issued, valid until/.test(m)));
      // Metrics: the orders by result, and when the certificate ends.
      const metrics = await (await request(`${running.adminUrl}/metrics`)).body.text();
      assert.match(metrics, /portico_acme_orders_total\{host="acme-one\.test",result="issued"\} 1\n/);
      assert.match(metrics, /portico_acme_orders_total\{host="acme-fail\.test",result="failed"\} [1-9]/);
      assert.match(
        metrics,
        /portico_certificate_expiry_timestamp_seconds\{certificate="acme:acme-one\.test"\} \d{10}/,
      );
      const hosts = (await (await request(`${running.adminUrl}/acme`)).body.json()) as {
        host: string;
        lastError?: string;
      }[];
      assert.match(String(hosts.find((h) => h.host === 'acme-fail.test')?.lastError), /./);
    } finally {
      await running.stop(200);
    }
  });

  it('a restart serves the stored certificate at once and orders nothing', async () => {
    const { running, logs } = await run(['acme-one.test']);
    try {
      const { cert } = await served(ports.https, 'acme-one.test', pebble.root);
      assert.match(String(cert.issuer?.CN), /Pebble/, 'served from the first connection');
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // a check ran
      assert.ok(!messages(logs).some((m) => m.startsWith('ACME: ordering')), messages(logs).join('\n'));
      const key = await readFile(join(dir, 'acme', 'acme-one.test', 'key.pem'));
      assert.match(key.toString(), /PRIVATE KEY/);
    } finally {
      await running.stop(200);
    }
  });

  it('renews a certificate whose renewal is due, and serves the new one without a restart', async () => {
    const before = (await readFile(join(dir, 'acme', 'acme-one.test', 'cert.pem'))).toString();
    const { running, logs } = await run(['acme-one.test'], '  renewAtRatio: 0.000000001\n');
    try {
      const first = (await served(ports.https, 'acme-one.test')).cert.serialNumber;
      await until(
        async () => (await served(ports.https, 'acme-one.test')).cert.serialNumber !== first,
        30_000,
        'the renewed certificate served',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${messages(logs).join('\n')}`);
      });
      assert.ok(messages(logs).some((m) => /certificate for acme-one\.test renewed/.test(m)));
      assert.notEqual((await readFile(join(dir, 'acme', 'acme-one.test', 'cert.pem'))).toString(), before);
    } finally {
      await running.stop(200);
    }
  });

  it('a host added to acme.hosts gets its certificate without a restart; acme removed stops it', async () => {
    const { running, logs } = await run(['acme-one.test']);
    try {
      await writeConfig(['acme-one.test', 'acme-hot.test'], '', true); // the file watcher applies it
      await until(
        async () => /Pebble/.test(String((await served(ports.https, 'acme-hot.test')).cert.issuer?.CN)),
        30_000,
        'a certificate for the host added',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${messages(logs).join('\n')}`);
      });
      assert.ok(messages(logs).includes('acme: settings changed; applying them now'));
      assert.ok(
        !messages(logs).some((m) => m === 'ACME: ordering a certificate for acme-one.test (issue)'),
        'the stored certificate is not ordered again',
      );
      const hosts = async () =>
        ((await (await request(`${running.adminUrl}/acme`)).body.json()) as { host: string }[]).map(
          (h) => h.host,
        );
      assert.deepEqual((await hosts()).sort(), ['acme-hot.test', 'acme-one.test']);
      // Without an acme section the manager stops, and its certificates leave the config.
      await writeFile(
        join(dir, 'portico.yaml'),
        `listeners:\n  - { name: http, address: 127.0.0.1, port: ${ports.http} }\n  - { name: https, address: 127.0.0.1, port: ${ports.https}, protocol: https, tls: {} }\nadmin: { address: 127.0.0.1, port: 0 }\n`,
      );
      await until(
        () => messages(logs).some((m) => m.startsWith('acme: no longer configured')),
        10_000,
        'the manager stopped',
      );
      await until(
        async () =>
          (await served(ports.https, 'acme-hot.test')).cert.subject?.CN === 'Portico Default Certificate',
        10_000,
        'the default certificate again',
      );
    } finally {
      await running.stop(200);
    }
  });

  it('TLS-ALPN-01: a host is proven on the https listener alone (no HTTP listener at all)', async () => {
    const { running, logs } = await run(['acme-alpn.test'], '  challenge: tls-alpn-01\n', false);
    try {
      await until(
        async () => /Pebble/.test(String((await served(ports.https, 'acme-alpn.test')).cert.issuer?.CN)),
        30_000,
        'a certificate from pebble served for acme-alpn.test',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${messages(logs).join('\n')}`);
      });
      const { cert, authorized } = await served(ports.https, 'acme-alpn.test', pebble.root);
      assert.equal(cert.subject?.CN, 'acme-alpn.test');
      assert.ok(authorized, "the chain verifies against pebble's root");
      assert.equal(
        running.proxy.acmeChallenges.tlsAlpnSize,
        0,
        'the challenge certificate is gone after the order',
      );
    } finally {
      await running.stop(200);
    }
  });

  it('--workers 2: every worker answers the challenges (HTTP-01, then TLS-ALPN-01), whichever the CA reaches', async () => {
    for (const [host, extra] of [
      ['acme-w1.test', ''],
      ['acme-w2.test', '  challenge: tls-alpn-01\n'],
    ] as const) {
      const portico = new PorticoProcess([
        'run',
        '--config',
        await writeConfig([host], extra, true),
        '--workers',
        '2',
      ]);
      try {
        await portico.listeningPort();
        await until(
          async () =>
            /Pebble/.test(String((await served(ports.https, host).catch(() => undefined))?.cert.issuer?.CN)),
          30_000,
          `a certificate from pebble served for ${host} by the workers`,
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n${portico.lines.map((l) => l['msg']).join('\n')}`);
        });
        // Both workers serve it: several new connections, spread over them by the kernel, all get it.
        for (let i = 0; i < 6; i++) assert.ok((await served(ports.https, host, pebble.root)).authorized);
      } finally {
        portico.kill();
        await portico.exited;
      }
    }
  });

  it('ARI: renews inside the window the CA suggests, not before, whatever renewAtRatio says', async () => {
    const front = await startAriFront(dir, pebble);
    try {
      const pem = (await readFile(join(dir, 'acme', 'acme-one.test', 'cert.pem'))).toString();
      // A window a day ahead: nothing is due yet, and the renewal time is chosen inside it.
      const start = new Date(Date.now() + 86_400_000);
      front.window = { start, end: new Date(start.getTime() + 3_600_000) };
      const quiet = await run(['acme-one.test'], '', true, front.directoryUrl);
      try {
        await until(() => front.asked.length > 0, 10_000, 'renewal information asked');
        assert.equal(front.asked[0], expectedCertId(pem), 'the ARI identifier: AKI key id and serial');
        const view = async () =>
          (
            (await (await request(`${quiet.running.adminUrl}/acme`)).body.json()) as { renewAt?: string }[]
          )[0];
        await until(async () => (await view())?.renewAt !== undefined, 5_000, 'renewAt shown');
        const renewAt = Date.parse(String((await view())?.renewAt));
        assert.ok(renewAt >= start.getTime() && renewAt <= front.window.end.getTime(), 'inside the window');
        assert.ok(!messages(quiet.logs).some((m) => m.startsWith('ACME: ordering')));
      } finally {
        await quiet.running.stop(200);
      }
      // A window that has begun (the CA wants the certificate replaced, say before a revocation): renewed now.
      front.window = { start: new Date(Date.now() - 3_600_000), end: new Date(Date.now() - 60_000) };
      const early = await run(['acme-one.test'], '', true, front.directoryUrl);
      try {
        await until(
          () => messages(early.logs).some((m) => /certificate for acme-one\.test renewed/.test(m)),
          30_000,
          'renewed inside the window',
        );
      } finally {
        await early.running.stop(200);
      }
    } finally {
      await front.close();
    }
  });
});

/** expectedCertId computes RFC 9773's identifier with openssl: base64url(AKI key id).base64url(serial bytes). */
function expectedCertId(pem: string): string {
  const text = execFileSync('openssl', ['x509', '-noout', '-ext', 'authorityKeyIdentifier', '-serial'], {
    input: pem,
    encoding: 'utf8',
  });
  const keyId = /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(text)![1]!.replace(/:/g, '');
  let serial = /serial=([0-9A-F]+)/.exec(text)![1]!;
  if (serial.length % 2 === 1) serial = `0${serial}`;
  if (Number.parseInt(serial.slice(0, 2), 16) >= 0x80) serial = `00${serial}`; // DER: a leading zero
  const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
  return `${b64(keyId)}.${b64(serial)}`;
}
