import {
  BALANCERS,
  HOST_NAME,
  type PorticoConfigInput,
  TOKEN,
  WIRE_PATH,
  wireProblem,
} from '@portico/config';
import type { KubernetesIssueCode } from './kube-issue.ts';

type RouteInput = NonNullable<PorticoConfigInput['routes']>[number];
type ServiceInput = NonNullable<PorticoConfigInput['services']>[number];

/** ANNOTATION_PREFIX is the prefix of every annotation Portico reads. */
export const ANNOTATION_PREFIX = 'portico.dev/';

/** IngressSettings are what an Ingress's `portico.dev/` annotations ask for. */
export interface IngressSettings {
  /** route holds the route fields the annotations set (rewrite, redirect, timeouts, body limit). */
  readonly route: Partial<RouteInput>;
  /** service holds service fields (balancer, hash key, affinity, retries, backend TLS, health check). */
  readonly service: Partial<ServiceInput>;
  readonly useRegex: boolean;
  /** sslRedirect overrides the default (redirect hosts the Ingress has TLS for); undefined: the default. */
  readonly sslRedirect: boolean | undefined;
  /** affinityOff: `affinity: none` turns off even the Service's own ClientIP affinity. */
  readonly affinityOff: boolean;
  readonly issues: { code: KubernetesIssueCode; field: string; message: string }[];
}

type Parse = (value: string, s: MutableSettings) => string | undefined;

interface MutableSettings {
  route: Partial<RouteInput> & { timeouts?: Record<string, number> };
  service: Partial<ServiceInput>;
  useRegex: boolean;
  sslRedirect: boolean | undefined;
  affinityOff: boolean;
}

function bool(value: string): boolean | undefined {
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

function integer(value: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}

const timeout =
  (field: string): Parse =>
  (value, s) => {
    const ms = integer(value, 1, 86_400_000);
    if (ms === undefined) return 'must be a whole number of milliseconds, 1 to 86400000';
    s.route.timeouts = { ...s.route.timeouts, [field]: ms };
    return undefined;
  };

function redirect(status: 301 | 302): Parse {
  return (value, s) => {
    // A URL parser would quietly drop CR, LF and tab and escape the rest: refuse them instead.
    if (/[\u0000-\u0020\u007f]/.test(value)) return 'must be a URL without spaces or control characters';
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return 'must be an absolute http:// or https:// URL';
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// URL';
    const host = wireProblem(HOST_NAME, url.hostname);
    if (host !== undefined) return `host ${host}`;
    const path = wireProblem(WIRE_PATH, url.pathname);
    if (path !== undefined) return `path ${path}`;
    s.route.redirect = {
      scheme: url.protocol === 'https:' ? 'https' : 'http',
      host: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      status,
    };
    return undefined;
  };
}

/**
 * ANNOTATIONS are the `portico.dev/` annotations an Ingress may carry, each with its parser; a parser
 * returns what is wrong with a value, or undefined once it has applied it. docs/kubernetes.md lists them.
 */
export const ANNOTATIONS: Readonly<Record<string, Parse>> = {
  // Read by the ACME controller (acmeRequests), not by translation: the hosts of spec.tls get certificates.
  acme: (value) => (value === 'true' || value === 'false' ? undefined : 'must be true or false'),
  'acme-challenge': (value) =>
    value === 'http-01' || value === 'tls-alpn-01' ? undefined : 'must be http-01 or tls-alpn-01',
  'load-balance': (value, s) => {
    if (!(BALANCERS as readonly string[]).includes(value)) return `must be one of ${BALANCERS.join(', ')}`;
    s.service.balancer = value as (typeof BALANCERS)[number];
    return undefined;
  },
  'hash-key': (value, s) => {
    const [source, name] = value.split(':', 2) as [string, string | undefined];
    if ((source === 'source-ip' || source === 'path') && name === undefined) {
      s.service.hashKey = { source };
      return undefined;
    }
    if (
      (source === 'header' || source === 'cookie' || source === 'query') &&
      name !== undefined &&
      name !== ''
    ) {
      s.service.hashKey = { source, name };
      return undefined;
    }
    return 'must be source-ip, path, header:<name>, cookie:<name> or query:<name>';
  },
  affinity: (value, s) => {
    if (value === 'none') {
      s.affinityOff = true;
      return undefined;
    }
    if (value !== 'cookie' && value !== 'client-ip') return 'must be cookie, client-ip or none';
    s.service.affinity = { ...s.service.affinity, type: value };
    return undefined;
  },
  'affinity-cookie-name': (value, s) => {
    const problem = wireProblem(TOKEN, value);
    if (problem !== undefined) return problem;
    s.service.affinity = { type: 'cookie', ...s.service.affinity, cookieName: value };
    return undefined;
  },
  'affinity-ttl-seconds': (value, s) => {
    const ttl = integer(value, 1, 31_536_000);
    if (ttl === undefined) return 'must be a whole number of seconds, 1 to 31536000';
    s.service.affinity = { type: 'cookie', ...s.service.affinity, ttlSeconds: ttl };
    return undefined;
  },
  retries: (value, s) => {
    const attempts = integer(value, 0, 10);
    if (attempts === undefined) return 'must be a whole number from 0 to 10';
    s.service.retries = { attempts };
    return undefined;
  },
  'backend-protocol': (value, s) => {
    const protocol = value.toUpperCase();
    if (protocol === 'HTTP') return undefined;
    if (protocol !== 'HTTPS') return 'must be HTTP or HTTPS';
    // As ingress-nginx does: encrypted to the pod, not authenticated (pods have no name to verify).
    s.service.tls = { verify: false };
    return undefined;
  },
  'health-check-path': (value, s) => {
    const problem = wireProblem(WIRE_PATH, value);
    if (problem !== undefined) return problem;
    s.service.healthCheck = { type: 'http', path: value };
    return undefined;
  },
  'rewrite-target': (value, s) => {
    const problem = wireProblem(WIRE_PATH, value);
    if (problem !== undefined) return problem;
    s.route.rewriteTarget = value;
    return undefined;
  },
  'use-regex': (value, s) => {
    const b = bool(value);
    if (b === undefined) return 'must be "true" or "false"';
    s.useRegex = b;
    return undefined;
  },
  'ssl-redirect': (value, s) => {
    const b = bool(value);
    if (b === undefined) return 'must be "true" or "false"';
    s.sslRedirect = b;
    return undefined;
  },
  'permanent-redirect': redirect(301),
  'temporal-redirect': redirect(302),
  'connect-timeout-ms': timeout('upstreamConnectMs'),
  'response-timeout-ms': timeout('upstreamResponseHeadMs'),
  'idle-timeout-ms': timeout('upstreamIdleMs'),
  'max-body-bytes': (value, s) => {
    const bytes = integer(value, 0, 2 ** 40);
    if (bytes === undefined) return 'must be a whole number of bytes (0: no limit)';
    s.route.maxBodyBytes = bytes;
    return undefined;
  },
};

/**
 * readIngressAnnotations applies an Ingress's `portico.dev/` annotations. An unknown one or an invalid
 * value is an issue (the value is ignored, the Ingress still serves); other annotations are not Portico's.
 */
export function readIngressAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
): IngressSettings {
  const s: MutableSettings = {
    route: {},
    service: {},
    useRegex: false,
    sslRedirect: undefined,
    affinityOff: false,
  };
  const issues: IngressSettings['issues'] = [];
  for (const [key, raw] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    const name = key.slice(ANNOTATION_PREFIX.length);
    const field = `metadata.annotations["${key}"]`;
    const parse = Object.hasOwn(ANNOTATIONS, name) ? ANNOTATIONS[name] : undefined;
    if (parse === undefined) {
      issues.push({
        code: 'PORTICO_KUBE_ANNOTATION_UNKNOWN',
        field,
        message: `unknown annotation ${key}; known: ${Object.keys(ANNOTATIONS).join(', ')}`,
      });
      continue;
    }
    const problem = parse(raw.trim(), s);
    if (problem !== undefined)
      issues.push({
        code: 'PORTICO_KUBE_ANNOTATION_INVALID',
        field,
        message: `${key}: ${JSON.stringify(raw.slice(0, 100))} ${problem}; ignored`,
      });
  }
  return { ...s, issues };
}
