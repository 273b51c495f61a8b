import { type AddressInfo, createServer } from 'node:net';
import type { PorticoConfig } from '@portico/config';

/**
 * ResolvedPorts fixes the port of each listener that asks for any free one (`port: 0`): workers each bind
 * their own socket, and with port 0 each would get a different port. The primary picks a free port once
 * per listener name and keeps it for the life of the process, so config changes never move it.
 */
export class ResolvedPorts {
  readonly #ports = new Map<string, number>();

  /** resolve returns `config` with every `port: 0` replaced by that listener's fixed port. */
  async resolve(config: PorticoConfig): Promise<PorticoConfig> {
    if (!config.listeners.some((l) => l.port === 0)) return config;
    const listeners = [];
    for (const listener of config.listeners) {
      if (listener.port !== 0) {
        listeners.push(listener);
        continue;
      }
      let port = this.#ports.get(listener.name);
      if (port === undefined) {
        port = await freePort(listener.address);
        this.#ports.set(listener.name, port);
      }
      listeners.push({ ...listener, port });
    }
    return { ...config, listeners };
  }
}

/** freePort asks the kernel for a port nothing listens on at `address`. */
async function freePort(address: string): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, address, resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
