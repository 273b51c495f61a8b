import { isAbsolute, resolve } from 'node:path';
import type { PorticoConfig } from '@portico/config';

/**
 * resolveReferencedFiles makes every file a config names (certificates, keys, CA bundles, htpasswd, error pages) absolute, relative
 * to `baseDir` (the config file's directory), and returns the config with them and the list of files, so
 * they can be watched: a changed certificate file is a changed config.
 */
export function resolveReferencedFiles(
  config: PorticoConfig,
  baseDir: string,
): { config: PorticoConfig; files: string[] } {
  const files: string[] = [];
  const at = (path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    const absolute = isAbsolute(path) ? path : resolve(baseDir, path);
    files.push(absolute);
    return absolute;
  };
  const withFiles = <T extends object>(value: T, keys: readonly string[]): T => {
    const copy = { ...value } as Record<string, unknown>;
    for (const key of keys) {
      const path = at(copy[key] as string | undefined);
      if (path !== undefined) copy[key] = path;
    }
    return copy as T;
  };
  const resolved: PorticoConfig = {
    ...config,
    certificates: config.certificates.map((cert) => withFiles(cert, ['certFile', 'keyFile'])),
    listeners: config.listeners.map((listener) => {
      const client = listener.tls?.clientCertificate;
      if (client === undefined) return listener;
      return { ...listener, tls: { ...listener.tls!, clientCertificate: withFiles(client, ['caFile']) } };
    }),
    routes: config.routes.map((route) => {
      let resolvedRoute = route;
      if (route.basicAuth?.htpasswdFile !== undefined)
        resolvedRoute = { ...resolvedRoute, basicAuth: withFiles(route.basicAuth, ['htpasswdFile']) };
      if (route.errorPages?.some((page) => page.file !== undefined))
        resolvedRoute = {
          ...resolvedRoute,
          errorPages: route.errorPages.map((page) => withFiles(page, ['file'])),
        };
      return resolvedRoute;
    }),
    ...(config.errorPages === undefined
      ? {}
      : { errorPages: config.errorPages.map((page) => withFiles(page, ['file'])) }),
    services: config.services.map((service) =>
      service.tls === undefined
        ? service
        : { ...service, tls: withFiles(service.tls, ['caFile', 'certFile', 'keyFile']) },
    ),
  };
  return { config: resolved, files };
}
