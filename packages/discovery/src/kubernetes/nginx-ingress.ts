import { createHash, randomBytes } from 'node:crypto';
import type { IngressSettings } from './ingress-annotations.ts';
import type { KubernetesIssueCode } from './kube-issue.ts';
import type { Secret } from './kube-objects.ts';
import { NGINX_PREFIX, type NginxFinding, type NginxSettings } from './nginx-annotations.ts';
import type { ClusterState } from './translate.ts';

/** NGINX_DEFAULT_BODY_BYTES is ingress-nginx's default proxy-body-size (1m). */
export const NGINX_DEFAULT_BODY_BYTES = 1024 * 1024;

type Issue = (code: KubernetesIssueCode, field: string, message: string) => void;

/**
 * nginxFindingIssues reports what Portico does not honour of an Ingress's ingress-nginx annotations,
 * and returns whether the Ingress is served: not when a security-relevant annotation cannot be honoured
 * (unless `allowUnsafe`).
 */
export function nginxFindingIssues(
  findings: readonly NginxFinding[],
  allowUnsafe: boolean,
  issue: Issue,
): boolean {
  let served = true;
  for (const f of findings) {
    const field = `metadata.annotations["${NGINX_PREFIX}${f.annotation}"]`;
    if (f.outcome === 'unsupported')
      issue(
        'PORTICO_KUBE_NGINX_UNSUPPORTED',
        field,
        `${NGINX_PREFIX}${f.annotation} is not honoured: ${f.detail}`,
      );
    else if (f.outcome === 'invalid')
      issue('PORTICO_KUBE_ANNOTATION_INVALID', field, `${NGINX_PREFIX}${f.annotation}: ${f.detail}`);
    else if (f.outcome === 'fail-closed') {
      if (allowUnsafe)
        issue(
          'PORTICO_KUBE_NGINX_UNSUPPORTED',
          field,
          `${NGINX_PREFIX}${f.annotation} is not honoured (${f.detail}); served anyway: --allow-unsafe-annotations`,
        );
      else {
        served = false;
        issue(
          'PORTICO_KUBE_NGINX_FAIL_CLOSED',
          field,
          `${NGINX_PREFIX}${f.annotation} restricts access in a way Portico cannot honour (${f.detail}); the Ingress is not served (--allow-unsafe-annotations serves it without)`,
        );
      }
    }
  }
  return served;
}

/**
 * nginxSettings completes what an Ingress's ingress-nginx annotations ask for with what they refer to
 * (the basic auth Secret, the upstream TLS Secret) and ingress-nginx's
 * defaults (a 1m body limit). A basic auth Secret that cannot be read leaves the Ingress with no user,
 * so every request gets 401: auth fails closed.
 */
export function nginxSettings(
  s: NginxSettings,
  namespace: string,
  state: ClusterState,
  depend: (key: string) => void,
  issue: Issue,
): IngressSettings {
  const route = { ...s.route };
  const service = { ...s.service };
  route.maxBodyBytes ??= NGINX_DEFAULT_BODY_BYTES;
  const secret = (ref: string, field: string): Secret | undefined => {
    const key = ref.includes('/') ? ref : `${namespace}/${ref}`;
    if (key.split('/')[0] !== namespace) {
      issue(
        'PORTICO_KUBE_SECRET_MISSING',
        field,
        `Secret ${key} is in another namespace; only the Ingress's own is read`,
      );
      return undefined;
    }
    depend(`secret:${key}`);
    const found = state.secrets.get(key);
    if (found === undefined) issue('PORTICO_KUBE_SECRET_MISSING', field, `Secret ${key} does not exist`);
    return found;
  };
  if (s.authSecret !== undefined && route.basicAuth !== undefined) {
    const field = `metadata.annotations["${NGINX_PREFIX}auth-secret"]`;
    const found = secret(s.authSecret.name, field);
    const users = found === undefined ? [] : htpasswdLines(found, s.authSecret.format);
    if (found !== undefined && users.length === 0)
      issue(
        'PORTICO_KUBE_SECRET_MISSING',
        field,
        `Secret ${s.authSecret.name} holds no users (${s.authSecret.format === 'auth-map' ? 'one key per user' : 'key "auth"'})`,
      );
    // No user: every request gets 401, as the Ingress asked for auth (fail closed). The placeholder
    // is a line no password matches.
    route.basicAuth = { ...route.basicAuth, users: users.length > 0 ? users : [NO_USER] };
  }
  if (s.proxySslSecret !== undefined) {
    const found = secret(s.proxySslSecret, `metadata.annotations["${NGINX_PREFIX}proxy-ssl-secret"]`);
    const text = (name: string) => {
      const value = found?.data?.[name];
      return value === undefined || value === '' ? undefined : Buffer.from(value, 'base64').toString('utf8');
    };
    const ca = text('ca.crt');
    const cert = text('tls.crt');
    const key = text('tls.key');
    service.tls = {
      verify: false,
      ...service.tls,
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined || key === undefined ? {} : { cert, key }),
    };
  }
  if (s.customErrors !== undefined && s.errorBackend === undefined)
    issue(
      'PORTICO_KUBE_NGINX_UNSUPPORTED',
      `metadata.annotations["${NGINX_PREFIX}custom-http-errors"]`,
      'custom-http-errors without default-backend has no renderer: the statuses pass as they are',
    );
  return {
    route,
    service,
    useRegex: s.useRegex,
    sslRedirect: s.sslRedirect,
    affinityOff: false,
    issues: [],
  };
}

/** NO_USER is an htpasswd line no one can log in with: the SHA-1 of 32 random bytes made at start. */
const NO_USER = `portico-no-user:{SHA}${createHash('sha1').update(randomBytes(32)).digest('base64')}`;

/** htpasswdLines reads the users of a basic auth Secret: `auth` (htpasswd) or one key per user (auth-map). */
function htpasswdLines(secret: Secret, format: 'auth-file' | 'auth-map'): string[] {
  const data = secret.data ?? {};
  const decode = (value: string) => Buffer.from(value, 'base64').toString('utf8');
  if (format === 'auth-file') {
    const auth = data['auth'];
    if (auth === undefined) return [];
    return decode(auth)
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
  }
  return Object.entries(data).map(([user, hash]) => `${user}:${decode(hash).trim()}`);
}
