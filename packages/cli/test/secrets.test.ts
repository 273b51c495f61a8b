import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { REDACTED } from '@portico/config';
import { pino } from 'pino';
import { type RunningPortico, startPortico } from 'portico';
import { request } from 'undici';
import { tlsSecret } from '../../discovery/test/helpers/kube-fixtures.ts';
import { type Backend, startBackend } from '../../proxy/test/helpers/backend.ts';
import { makeCert, type TestCert } from '../../proxy/test/helpers/tls-certs.ts';
import { servedCertificate, startKubeHarness, until } from './helpers/kube-harness.ts';

const TOKEN = 'a-secret-admin-token-0123456789';
const AFFINITY_SECRET = 'a-secret-affinity-hmac-key';

/** ADMIN_READS are every admin endpoint a client can read. */
const ADMIN_READS = [
  '/healthz',
  '/readyz',
  '/status',
  '/routes',
  '/routes?explain=https://inline.example/',
  '/services',
  '/traffic',
  '/dashboard',
  '/listeners',
  '/config',
  '/config/errors',
  '/discovery',
  '/metrics',
  '/openapi.json',
];

/** secretsOf lists the strings that must never leave the process: key bodies, token, HMAC key. */
function keyMaterial(...certs: TestCert[]): string[] {
  const out = ['PRIVATE KEY'];
  for (const { key } of certs) {
    const body = key.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
    out.push(...body.map((line) => line.slice(0, 40)));
  }
  return out;
}

function assertClean(where: string, text: string, secrets: readonly string[]): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `${where} shows ${secret.slice(0, 20)}...`);
}

describe('secrets stay secret (static config)', () => {
  let dir: string;
  let running: RunningPortico;
  let admin: string;
  let web: Backend;
  let inline: TestCert;
  let fromFile: TestCert;
  let client: TestCert;
  const logs: string[] = [];

  before(async () => {
    web = await startBackend('web');
    dir = await mkdtemp(join(tmpdir(), 'portico-secrets-'));
    inline = makeCert(['inline.example']);
    fromFile = makeCert(['file.example']);
    client = makeCert(['client.example']);
    await writeFile(join(dir, 'file.crt'), fromFile.cert);
    await writeFile(join(dir, 'file.key'), fromFile.key);
    const config = {
      listeners: [
        {
          name: 'https',
          address: '127.0.0.1',
          port: 0,
          protocol: 'https',
          tls: { defaultCertificate: 'inline' },
        },
      ],
      certificates: [
        { name: 'inline', cert: inline.cert, key: inline.key },
        { name: 'file', certFile: join(dir, 'file.crt'), keyFile: join(dir, 'file.key') },
      ],
      routes: [{ paths: [{ path: '/', service: 'web' }] }],
      services: [
        {
          name: 'web',
          endpoints: [{ address: '127.0.0.1', port: web.port }],
          affinity: { type: 'cookie', secret: AFFINITY_SECRET },
        },
        {
          name: 'mtls',
          endpoints: [{ address: '127.0.0.1', port: web.port }],
          tls: { cert: client.cert, key: client.key, verify: false },
        },
      ],
      admin: { port: 0, token: TOKEN },
    };
    await writeFile(join(dir, 'portico.json'), JSON.stringify(config));
    running = await startPortico(
      { config: join(dir, 'portico.json') },
      pino(
        { level: 'debug' },
        new Writable({
          write: (chunk: Buffer, _e, done) => {
            logs.push(chunk.toString());
            done();
          },
        }),
      ),
    );
    admin = running.adminUrl!;
  });
  after(async () => {
    await running.stop(200);
    await web.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('no admin read, validate or diff shows key material, the token or the affinity key', async () => {
    const secrets = [...keyMaterial(inline, fromFile, client), TOKEN, AFFINITY_SECRET];
    for (const path of ADMIN_READS) {
      const res = await request(`${admin}${path}`);
      assertClean(`GET ${path}`, await res.body.text(), secrets);
    }
    const shown = (
      (await (await request(`${admin}/config`)).body.json()) as { config: Record<string, unknown> }
    ).config;
    const certs = shown['certificates'] as { key?: string; keyFile?: string }[];
    assert.equal(certs[0]!.key, REDACTED);
    assert.equal(certs[1]!.keyFile, join(dir, 'file.key'), 'a file path is not a secret');
    for (const path of ['/config/validate', '/config/diff']) {
      const res = await request(`${admin}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(shown),
      });
      const text = await res.body.text();
      assert.ok(res.statusCode < 300, `${path}: ${res.statusCode} ${text}`);
      assertClean(`POST ${path}`, text, secrets);
    }
    assertClean('the log', logs.join(''), secrets);
  });

  it('PUT /config accepts its own GET /config back: placeholders keep the current secrets', async () => {
    const res = await request(`${admin}/config`);
    const etag = res.headers['etag'] as string;
    const shown = ((await res.body.json()) as { config: { routes: { name?: string }[] } }).config;
    shown.routes[0]!.name = 'renamed';
    const put = await request(`${admin}/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'if-match': etag },
      body: JSON.stringify(shown),
    });
    const text = await put.body.text();
    assert.equal(put.statusCode, 200, text);
    assert.equal(running.proxy.snapshot.config.routes[0]!.name, 'renamed');
    assert.equal(running.proxy.snapshot.config.certificates[0]!.key, inline.key, 'the key was kept');
    assert.equal(running.proxy.snapshot.config.admin?.token, TOKEN);
    const port = running.proxy.listeners()[0]!.port;
    const served = await servedCertificate(port, 'inline.example');
    assert.equal(served.subject?.CN, 'inline.example');
  });

  it('a placeholder with no current value to keep is refused, naming the field', async () => {
    const res = await request(`${admin}/config`);
    const etag = res.headers['etag'] as string;
    const shown = ((await res.body.json()) as { config: { certificates: Record<string, unknown>[] } }).config;
    shown.certificates.push({ name: 'new', cert: inline.cert, key: REDACTED });
    const put = await request(`${admin}/config`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'if-match': etag },
      body: JSON.stringify(shown),
    });
    const text = await put.body.text();
    assert.equal(put.statusCode, 422, text);
    assert.match(text, /certificates\[2\]\.key/);
  });
});

describe('secrets stay secret (Kubernetes TLS Secrets)', () => {
  it('no admin read shows the key of a TLS Secret', async () => {
    const cert = makeCert(['secure.example']);
    const h = await startKubeHarness((api) => {
      api.apply('secrets', tlsSecret('secure-tls', cert.cert, cert.key));
      api.apply('ingresses', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'secure', namespace: 'default' },
        spec: {
          ingressClassName: 'portico',
          tls: [{ hosts: ['secure.example'], secretName: 'secure-tls' }],
          rules: [
            {
              host: 'secure.example',
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: 'web', port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        },
      });
      api.apply('ingressclasses', {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: { name: 'portico' },
        spec: { controller: 'portico.dev/ingress-controller' },
      });
    });
    try {
      await until(
        async () => h.portico.proxy.snapshot.config.certificates.some((c) => c.key === cert.key),
        3_000,
        'the Secret served',
      );
      const admin = h.portico.adminUrl!;
      for (const path of ADMIN_READS) {
        const res = await request(`${admin}${path}`);
        assertClean(`GET ${path}`, await res.body.text(), keyMaterial(cert));
      }
      assertClean('the log', JSON.stringify(h.logs), keyMaterial(cert));
    } finally {
      await h.close();
    }
  });
});
