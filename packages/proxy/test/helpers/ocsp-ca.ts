import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { SELF_SIGNED_EC } from './tls-certs.ts';

/**
 * A test CA with a real OCSP responder: openssl signs the certificates and answers each OCSP request
 * (`openssl ocsp -reqin ... -respout ...`) behind a Node HTTP server on 127.0.0.1, from an index that
 * says which serials are revoked.
 */
export class OcspCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'portico-ocsp-'));
  readonly server: Server;
  requests = 0;
  failing = false;
  #url = '';

  constructor() {
    this.#openssl([
      ...SELF_SIGNED_EC,
      ...['-subj', '/CN=Portico OCSP Test CA', '-keyout', 'ca.key', '-out', 'ca.pem'],
      ...[
        '-addext',
        'basicConstraints=critical,CA:true',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      ],
    ]);
    writeFileSync(join(this.dir, 'index.txt'), '');
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests++;
        if (this.failing) {
          res.statusCode = 503;
          res.end();
          return;
        }
        const n = this.requests;
        writeFileSync(join(this.dir, `req-${n}.der`), Buffer.concat(chunks));
        this.#openssl([
          ...['ocsp', '-index', 'index.txt', '-CA', 'ca.pem', '-rsigner', 'ca.pem', '-rkey', 'ca.key'],
          ...['-reqin', `req-${n}.der`, '-respout', `resp-${n}.der`, '-nmin', '10'],
        ]);
        res.setHeader('content-type', 'application/ocsp-response');
        res.end(readFileSync(join(this.dir, `resp-${n}.der`)));
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.#url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  /** issue signs a certificate for `host` naming the responder, returning it (with the CA: the chain) and its key. */
  issue(host: string, revoked = false): { cert: string; chain: string; key: string } {
    const name = host.replace(/[^a-z0-9]/g, '-');
    writeFileSync(
      join(this.dir, `${name}.cnf`),
      `subjectAltName=DNS:${host}\nauthorityInfoAccess=OCSP;URI:${this.#url}\n`,
    );
    this.#openssl([
      ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-subj', `/CN=${host}`, '-keyout', `${name}.key`, '-out', `${name}.csr`],
    ]);
    this.#openssl([
      ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'],
      ...['-days', '1', '-extfile', `${name}.cnf`, '-out', `${name}.pem`],
    ]);
    const cert = readFileSync(join(this.dir, `${name}.pem`), 'utf8');
    const x509 = new X509Certificate(cert);
    const expiry = `${new Date(x509.validTo).toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`;
    const now = `${new Date().toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`;
    const line = `${revoked ? 'R' : 'V'}\t${expiry}\t${revoked ? now : ''}\t${x509.serialNumber}\tunknown\t/CN=${host}\n`;
    writeFileSync(join(this.dir, 'index.txt'), readFileSync(join(this.dir, 'index.txt'), 'utf8') + line);
    const ca = readFileSync(join(this.dir, 'ca.pem'), 'utf8');
    return { cert, chain: cert + ca, key: readFileSync(join(this.dir, `${name}.key`), 'utf8') };
  }

  get caPem(): string {
    return readFileSync(join(this.dir, 'ca.pem'), 'utf8');
  }

  /** verify checks a stapled response with openssl against the CA: the status line it prints. */
  verify(response: Buffer, cert: string): string {
    writeFileSync(join(this.dir, 'stapled.der'), response);
    writeFileSync(join(this.dir, 'checked.pem'), cert);
    return execFileSync(
      'openssl',
      [
        ...['ocsp', '-respin', 'stapled.der', '-CAfile', 'ca.pem', '-issuer', 'ca.pem'],
        ...['-cert', 'checked.pem', '-no_nonce'],
      ],
      { cwd: this.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }

  #openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'ignore' });
  }

  close(): void {
    this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** stapled connects asking for OCSP (status_request) and returns the stapled response, or undefined. */
export async function stapled(port: number, servername: string): Promise<Buffer | undefined> {
  const socket = connect({
    host: '127.0.0.1',
    port,
    servername,
    requestOCSP: true,
    rejectUnauthorized: false,
  });
  let response: Buffer | undefined;
  socket.on('OCSPResponse', (r: Buffer | null) => {
    response = r ?? undefined; // null: the server stapled nothing
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  socket.destroy();
  return response;
}
