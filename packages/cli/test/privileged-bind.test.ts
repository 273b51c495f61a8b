import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The example DaemonSet runs Portico as uid 10001 with every capability dropped but NET_BIND_SERVICE, and
 * the image gives its node binary that capability as a file capability (as ingress-nginx does for nginx).
 * Kubernetes grants no ambient capabilities, so without the file capability binding port 80 fails with
 * EACCES: the capability in the pod spec alone is lost when the runtime execs a non-root process. These
 * tests run the binary exactly so (setpriv: uid 10001, bounding set NET_BIND_SERVICE only, no inheritable
 * capabilities), in a network namespace of their own (`unshare --net`), and bind port 80 there. They need
 * root to build that sandbox.
 */
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const MANIFEST_UID = '10001';
const isRoot = process.getuid?.() === 0;

describe('binding port 80 as the DaemonSet runs Portico', {
  skip: isRoot ? false : 'needs root to create a network namespace',
}, () => {
  let dir: string;
  let plainNode: string;
  let capableNode: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'portico-bind-'));
    chmodSync(dir, 0o755);
    plainNode = join(dir, 'node-plain');
    capableNode = join(dir, 'portico-node');
    copyFileSync(realpathSync(process.execPath), plainNode);
    copyFileSync(realpathSync(process.execPath), capableNode);
    chmodSync(plainNode, 0o755);
    chmodSync(capableNode, 0o755);
    execFileSync('setcap', ['cap_net_bind_service=+ep', capableNode]); // what the Dockerfile does
    writeFileSync(
      join(dir, 'portico.yaml'),
      'listeners: [{ name: web, address: 127.0.0.1, port: 80 }]\n', // no routes: every request is a 404
    );
    chmodSync(join(dir, 'portico.yaml'), 0o644);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * runAsManifest starts Portico with `node` as uid 10001 with only NET_BIND_SERVICE in its bounding set
   * (the manifest's `capabilities: { drop: [ALL], add: [NET_BIND_SERVICE] }`), in a new network namespace,
   * asks it for `/` on port 80 and returns the status curl got (empty if none) and Portico's output.
   */
  function runAsManifest(node: string, noNewPrivs: boolean): { answer: string; log: string } {
    const setpriv = [
      'setpriv',
      `--reuid=${MANIFEST_UID}`,
      `--regid=${MANIFEST_UID}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all,+net_bind_service',
      ...(noNewPrivs ? ['--no-new-privs'] : []),
      node,
      '--conditions=development',
      MAIN,
      'run',
      '--config',
      join(dir, 'portico.yaml'),
    ].join(' ');
    const script = `
      ip link set lo up
      ${setpriv} > ${dir}/log 2>&1 &
      pid=$!
      for i in $(seq 1 100); do
        answer=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:80/ 2>/dev/null) && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
      done
      kill $pid 2>/dev/null; wait $pid 2>/dev/null
      echo "ANSWER:$answer"
    `;
    const result = spawnSync('unshare', ['--net', 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000 });
    const answer = /ANSWER:(.*)/.exec(result.stdout)?.[1] ?? '';
    const log = spawnSync('cat', [join(dir, 'log')], { encoding: 'utf8' }).stdout;
    return { answer, log };
  }

  it('the image binary (file capability) binds port 80 as uid 10001 with only NET_BIND_SERVICE', () => {
    const { answer, log } = runAsManifest(capableNode, false);
    assert.equal(answer, '404', `Portico did not answer on port 80 (it has no routes):\n${log}`);
  });

  it('without the file capability the same user cannot bind port 80 (no ambient capabilities)', () => {
    const { answer, log } = runAsManifest(plainNode, false);
    assert.ok(answer === '' || answer === '000', `nothing answers on port 80, got ${answer}`);
    assert.match(log, /EACCES|permission denied/i);
  });

  it('with no_new_privs too (allowPrivilegeEscalation: false) the capability holds: nothing is gained', () => {
    // The runtime leaves NET_BIND_SERVICE in the permitted set it execs with (as runc does for the added
    // capabilities), so no_new_privs, which only stops an exec from gaining capabilities, keeps it.
    const { answer, log } = runAsManifest(capableNode, true);
    assert.equal(answer, '404', `Portico did not answer on port 80:\n${log}`);
  });
});
