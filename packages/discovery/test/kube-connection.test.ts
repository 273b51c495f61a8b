import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeClient, loadKubeconfig, resolveKubeConnection } from '@portico/discovery';
import { startBlackhole } from '../../proxy/test/helpers/blackhole.ts';
import { makeCa } from '../../proxy/test/helpers/tls-certs.ts';
import { FakeKubeApi } from './helpers/fake-kube-api.ts';

describe('Kubernetes connections: kubeconfig and in-cluster service account', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-kubeconn-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('in-cluster: HTTPS verified with the mounted CA bundle, and a rotated token file is picked up on 401', async () => {
    const ca = makeCa('Fake Cluster CA');
    const server = ca.issue('127.0.0.1', ['127.0.0.1']);
    const api = new FakeKubeApi({ tls: server, token: 'token-one' });
    await api.start();
    const sa = join(dir, 'serviceaccount');
    await mkdir(sa);
    await writeFile(join(sa, 'ca.crt'), ca.cert);
    await writeFile(join(sa, 'token'), 'token-one\n');
    await writeFile(join(sa, 'namespace'), 'portico-system');
    const env = {
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(new URL(api.url).port),
    };
    const connection = resolveKubeConnection({ env, serviceAccountDir: sa });
    assert.equal(connection.namespace, 'portico-system');
    assert.equal(connection.server, `https://127.0.0.1:${new URL(api.url).port}`);
    const client = new KubeClient(connection);
    try {
      const list = await client.json<{ kind: string }>({ path: '/api/v1/services' });
      assert.equal(list.kind, 'ServiceList');
      // The kubelet rotates the projected token: write a new file by rename, as it does.
      await writeFile(join(sa, 'token.new'), 'token-two\n');
      await rename(join(sa, 'token.new'), join(sa, 'token'));
      api.token = 'token-two';
      const again = await client.json<{ kind: string }>({ path: '/api/v1/services' });
      assert.equal(again.kind, 'ServiceList');
      assert.equal(api.requests.at(-1)!.authorization, 'Bearer token-two');
      assert.match(api.requests.at(-1)!.userAgent ?? '', /^portico-ingress-controller \(/);
    } finally {
      await client.close();
      await api.close();
    }
    // A server certificate not from the mounted CA is refused.
    const other = makeCa('Someone Else');
    const wrong = new FakeKubeApi({ tls: other.issue('127.0.0.1', ['127.0.0.1']) });
    await wrong.start();
    const refused = new KubeClient({ ...connection, server: wrong.url });
    await assert.rejects(refused.json({ path: '/api/v1/services' }), { code: 'PORTICO_KUBE_API' });
    await refused.close();
    await wrong.close();
  });

  it("a blackholed API server fails a request within the connect timeout, not undici's defaults", async () => {
    const blackhole = await startBlackhole();
    const client = new KubeClient({
      server: `http://127.0.0.1:${blackhole.port}`,
      namespace: 'default',
      description: 'a blackholed API server',
    });
    try {
      const started = Date.now();
      await assert.rejects(client.json({ path: '/api/v1/services' }), /timeout/i);
      const took = Date.now() - started;
      assert.ok(took >= 4_000 && took < 7_000, `failed after ${took} ms (connect timeout 5 s)`);
    } finally {
      await client.close();
      blackhole.close();
    }
  });

  it('kubeconfig: current-context or a named one, inline or file credentials, namespace', async () => {
    const file = join(dir, 'config');
    await writeFile(join(dir, 'ca.pem'), 'CA FROM FILE');
    await writeFile(
      file,
      `apiVersion: v1
kind: Config
current-context: dev
clusters:
  - name: dev-cluster
    cluster: { server: "https://dev.example:6443/", certificate-authority-data: ${Buffer.from('INLINE CA').toString('base64')} }
  - name: prod-cluster
    cluster: { server: "https://prod.example", certificate-authority: ca.pem }
users:
  - name: dev-user
    user: { token: abc }
  - name: prod-user
    user:
      client-certificate-data: ${Buffer.from('CERT').toString('base64')}
      client-key-data: ${Buffer.from('KEY').toString('base64')}
  - name: sso
    user: { exec: { command: aws } }
contexts:
  - name: dev
    context: { cluster: dev-cluster, user: dev-user, namespace: team-a }
  - name: prod
    context: { cluster: prod-cluster, user: prod-user }
  - name: cloud
    context: { cluster: prod-cluster, user: sso }
`,
    );
    const dev = loadKubeconfig(file);
    assert.deepEqual(
      { server: dev.server, ca: dev.ca, token: dev.token, namespace: dev.namespace },
      { server: 'https://dev.example:6443', ca: 'INLINE CA', token: 'abc', namespace: 'team-a' },
    );
    const prod = loadKubeconfig(file, 'prod');
    assert.deepEqual(
      { ca: prod.ca, cert: prod.cert, key: prod.key, namespace: prod.namespace },
      { ca: 'CA FROM FILE', cert: 'CERT', key: 'KEY', namespace: 'default' },
    );
    assert.throws(() => loadKubeconfig(file, 'cloud'), {
      code: 'PORTICO_KUBE_CONFIG_INVALID',
      message: /exec or auth-provider/,
    });
    assert.throws(() => loadKubeconfig(file, 'nope'), {
      code: 'PORTICO_KUBE_CONFIG_INVALID',
      message: /context "nope" is not defined/,
    });
    // KUBECONFIG is used when there is no flag and no in-cluster environment.
    assert.equal(
      resolveKubeConnection({ env: { KUBECONFIG: `${file}:/elsewhere` } }).server,
      'https://dev.example:6443',
    );
    assert.throws(() => resolveKubeConnection({ env: { KUBECONFIG: join(dir, 'missing') } }), {
      code: 'PORTICO_KUBE_CONFIG_INVALID',
    });
  });
});
