import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * writeHttpsSite writes into `dir` a certificate chain, its key and a config (returned: its path) that
 * serves `shop.test` over HTTPS on a free port from the backend on `backendPort`.
 */
export async function writeHttpsSite(
  dir: string,
  chain: string,
  key: string,
  backendPort: number,
): Promise<string> {
  await writeFile(join(dir, 'chain.pem'), chain);
  await writeFile(join(dir, 'key.pem'), key);
  const config = join(dir, 'portico.yaml');
  await writeFile(
    config,
    `listeners: [{ name: web, address: 127.0.0.1, port: 0, protocol: https, tls: {} }]
certificates: [{ name: shop, certFile: ${join(dir, 'chain.pem')}, keyFile: ${join(dir, 'key.pem')} }]
routes: [{ host: shop.test, paths: [{ path: /, service: shop }] }]
services: [{ name: shop, endpoints: [{ address: 127.0.0.1, port: ${backendPort} }] }]
`,
  );
  return config;
}
