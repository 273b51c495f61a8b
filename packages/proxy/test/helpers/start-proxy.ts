import { type PorticoConfigInput, parseConfig } from '@portico/config';
import { createProxy, type PorticoProxy } from '@portico/proxy';

/** TestProxy is a proxy listening on 127.0.0.1 on a free port. */
export interface TestProxy {
  readonly proxy: PorticoProxy;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** startProxy validates `input` (listeners default to one on 127.0.0.1:0) and starts a proxy. */
export async function startProxy(
  input: Omit<PorticoConfigInput, 'listeners'> & Partial<PorticoConfigInput>,
): Promise<TestProxy> {
  const config = parseConfig({ listeners: [{ name: 'test', address: '127.0.0.1', port: 0 }], ...input });
  const proxy = createProxy(config);
  const [listener] = await proxy.listen();
  return {
    proxy,
    port: listener!.port,
    url: `http://127.0.0.1:${listener!.port}`,
    close: () => proxy.close({ drainTimeoutMs: 500 }),
  };
}

/** endpointsOf lists backends as config endpoints on 127.0.0.1. */
export function endpointsOf(...backends: { port: number }[]) {
  return backends.map((b) => ({ address: '127.0.0.1', port: b.port }));
}
