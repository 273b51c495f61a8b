import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeKubeApi } from '../../discovery/test/helpers/fake-kube-api.ts';
import { ingress } from '../../discovery/test/helpers/kube-fixtures.ts';
import { writeKubeconfig } from './helpers/kube-harness.ts';
import { runPortico } from './helpers/portico-process.ts';

const N = 'nginx.ingress.kubernetes.io/';
const nginx = (name: string, annotations: Record<string, string>, namespace = 'default') =>
  ingress(name, {
    namespace,
    className: 'nginx',
    host: `${name}.example`,
    paths: [{ service: 'web', port: 80 }],
    annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`${N}${k}`, v])),
  });

describe('portico migrate: what each ingress-nginx annotation becomes, before DNS moves', () => {
  let dir: string;
  let api: FakeKubeApi;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-migrate-'));
    api = new FakeKubeApi();
    await api.start();
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads Ingress files (YAML documents and Lists), reports per Ingress, exits 1 when one fails closed', async () => {
    const file = join(dir, 'ingresses.yaml');
    const list = { apiVersion: 'v1', kind: 'List', items: [nginx('listed', { 'limit-rps': '5' })] };
    await writeFile(
      file,
      [
        nginx('shop', {
          'rewrite-target': '/$1',
          'proxy-buffering': 'on',
          'mirror-target': 'http://mirror.example',
        }),
        nginx('admin', { 'server-snippet': 'allow 10.0.0.0/8; deny all;' }),
        ingress('elsewhere', {
          className: 'traefik',
          host: 'x.example',
          paths: [{ service: 'web', port: 80 }],
        }),
        list,
      ]
        .map((o) => JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', ...o }))
        .join('\n---\n'),
    );
    const { code, stdout } = await runPortico(['migrate', file]);
    assert.equal(code, 1, stdout);
    assert.match(stdout, /^default\/shop: served, with differences$/m);
    assert.match(stdout, /^ {2}translated {2}rewrite-target="\/\$1": /m);
    assert.match(stdout, /^ {2}no effect {3}proxy-buffering="on": /m);
    assert.match(stdout, /^ {2}UNSUPPORTED mirror-target="http:\/\/mirror\.example": /m);
    assert.match(stdout, /^default\/admin: NOT SERVED \(fails closed\)$/m);
    assert.match(stdout, /^ {2}FAIL-CLOSED server-snippet=/m);
    assert.match(stdout, /^default\/listed: same behaviour$/m);
    assert.doesNotMatch(stdout, /elsewhere/, 'other classes are not ingress-nginx’s');
    assert.match(
      stdout,
      /^3 Ingresses of class nginx: 1 behave the same, 1 are served with differences, 1 would not be served \(fail closed\)\.$/m,
    );
  });

  it('reads them from the cluster through a kubeconfig, as JSON; exit 0 when all are served', async () => {
    api.apply('ingresses', nginx('api', { 'enable-cors': 'true' }, 'team-a'));
    api.apply('ingresses', nginx('docs', { 'app-root': '/docs' }, 'team-b'));
    const kubeconfig = await writeKubeconfig(dir, api.url);
    const { code, stdout } = await runPortico(['migrate', '--kubeconfig', kubeconfig, '--json']);
    assert.equal(code, 0, stdout);
    const reports = JSON.parse(stdout) as {
      ingress: string;
      served: boolean;
      findings: { annotation: string; outcome: string }[];
    }[];
    assert.deepEqual(
      reports.map((r) => [r.ingress, r.served, r.findings.map((f) => `${f.annotation}:${f.outcome}`)]).sort(),
      [
        ['team-a/api', true, ['enable-cors:translated']],
        ['team-b/docs', true, ['app-root:translated']],
      ],
    );
    const one = await runPortico(['migrate', '--kubeconfig', kubeconfig, '--namespace', 'team-b', '--json']);
    assert.deepEqual(
      (JSON.parse(one.stdout) as { ingress: string }[]).map((r) => r.ingress),
      ['team-b/docs'],
    );
  });

  it('says what is wrong when the Ingresses cannot be read, exit 2', async () => {
    const { code, stdout } = await runPortico(['migrate', join(dir, 'missing.yaml')]);
    assert.equal(code, 2);
    assert.match(stdout, /^cannot read the Ingresses: .*missing\.yaml/m);
  });
});
