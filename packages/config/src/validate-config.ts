import { isIP } from 'node:net';
import type { ErrorObject } from 'ajv';
import { parseCidr } from './cidr.ts';
import { compiledValidator } from './compiled-validator.ts';
import { type ConfigIssue, jsonPath, PorticoConfigError } from './config-error.ts';
import type {
  AccessListConfig,
  CorsConfig,
  ErrorPageConfig,
  HeaderRulesConfig,
  PorticoConfig,
  RouteConfig,
  RoutePathConfig,
  ServiceConfig,
} from './schema.ts';
import { PATH_FILTERS } from './schema-constants.ts';
import { REDACTED } from './secrets.ts';
import type { ValidationMemo } from './validation-memo.ts';
import { AUTHORITY, HOST_NAME, WIRE_MEANINGS } from './wire-safe.ts';

/** checkSchema runs the compiled schema; its errors are on `checkSchema.errors` afterwards. */
const checkSchema = Object.assign(
  (data: unknown): boolean => {
    const validate = compiledValidator().validate as ((data: unknown) => boolean) & {
      errors?: ErrorObject[] | null;
    };
    const ok = validate(data);
    checkSchema.errors = validate.errors;
    return ok;
  },
  { errors: undefined as ErrorObject[] | null | undefined },
);

/** ConfigValidation is the outcome of `validateConfig`. */
export type ConfigValidation =
  | { readonly ok: true; readonly config: PorticoConfig }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** ValidateOptions tune `validateConfig`. */
export interface ValidateOptions {
  /**
   * inPlace fills defaults into `input` itself instead of a copy (false by default). For callers that
   * build a fresh document each time, such as the Kubernetes source: it saves a deep copy of a large
   * config, and objects of the document keep their identity in the config (so the proxy can tell an
   * unchanged service by reference).
   */
  readonly inPlace?: boolean;
  /**
   * memo remembers what the last valid config of a sequence was made of: its services and routes that
   * are the same objects again are not checked again, only their references to others. With `inPlace`,
   * for sources that keep unchanged parts as the same objects.
   */
  readonly memo?: ValidationMemo;
}

/**
 * validateConfig checks a parsed config document against the schema and for references that do not
 * resolve, and returns either the config with every default filled in or every issue found. The input
 * is not modified unless `inPlace` is set.
 */
export function validateConfig(input: unknown, options: ValidateOptions = {}): ConfigValidation {
  const config = options.inPlace === true ? input : structuredClone(input);
  const memo = options.memo;
  let fresh: object[] | undefined;
  if (memo !== undefined) {
    const checked = checkSchemaSkipping(config as Record<string, unknown>, memo);
    if (!Array.isArray(checked)) return { ok: false, issues: schemaIssues(checked.errors, config) };
    fresh = checked;
  } else if (!checkSchema(config)) {
    return { ok: false, issues: schemaIssues(checkSchema.errors ?? [], config) };
  }
  const valid = config as PorticoConfig;
  const { issues, names, listeners } = referenceIssues(valid, memo);
  if (issues.length > 0) {
    memo?.forget();
    return { ok: false, issues };
  }
  // Only a whole valid config vouches for its items: an item with a problem is checked again next time.
  if (memo !== undefined && fresh !== undefined) {
    for (const item of fresh) memo.items.add(item);
    memo.remember(valid.services, valid.routes, names, listeners);
  }
  return { ok: true, config: valid };
}

/** SKIPPABLE are the lists whose items `validated` may hold. */
const SKIPPABLE = ['services', 'routes'] as const;

/**
 * checkSchemaSkipping runs the schema over `config` with the items of `services` and `routes` that the
 * memo vouches for left out, and returns its errors (paths mapped back to the whole lists), or the items
 * it checked when it passed.
 */
function checkSchemaSkipping(
  config: Record<string, unknown>,
  memo: ValidationMemo,
): { errors: ErrorObject[] } | object[] {
  const kept = new Map<(typeof SKIPPABLE)[number], { all: unknown[]; fresh: number[] }>();
  for (const field of SKIPPABLE) {
    const all = config[field];
    if (!Array.isArray(all)) continue;
    const fresh: number[] = [];
    const before = memo.last(field);
    for (let i = 0; i < all.length; i++) {
      const item: unknown = all[i];
      if (item === before[i]) continue;
      if (typeof item !== 'object' || item === null || !memo.items.has(item)) fresh.push(i);
    }
    kept.set(field, { all, fresh });
    config[field] = fresh.map((i) => all[i]);
  }
  const ok = checkSchema(config);
  for (const [field, { all }] of kept) config[field] = all;
  if (!ok)
    return {
      errors: (checkSchema.errors ?? []).map((error) => ({
        ...error,
        instancePath: error.instancePath.replace(
          /^\/(services|routes)\/(\d+)/,
          (_, field: string, k: string) => {
            const fresh = kept.get(field as (typeof SKIPPABLE)[number])!.fresh;
            return `/${field}/${fresh[Number(k)]}`;
          },
        ),
      })),
    };
  return [...kept.values()].flatMap(({ all, fresh }) => fresh.map((i) => all[i] as object));
}

/** parseConfig is `validateConfig` that throws a `PorticoConfigError` naming `source` when invalid. */
export function parseConfig(input: unknown, source = 'config'): PorticoConfig {
  const result = validateConfig(input);
  if (!result.ok) throw new PorticoConfigError('PORTICO_CONFIG_INVALID', result.issues, source);
  return result.config;
}

/**
 * schemaAt returns the schema an error's keyword belongs to (`#/properties/port/minimum` -> the schema
 * of `port`): the validator is compiled without Ajv's verbose errors, which made it a third larger.
 */
function schemaAt(schemaPath: string): Record<string, unknown> | undefined {
  let at: unknown = compiledValidator().configSchema;
  let secret = false;
  for (const part of schemaPath.split('/').slice(1, -1)) {
    if (typeof at !== 'object' || at === null) break;
    // A schema path is a URI fragment: its segments are percent-encoded JSON pointer tokens.
    at = (at as Record<string, unknown>)[
      decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~')
    ];
    // Inside a secret (a map of API keys), every value is secret too.
    if ((at as Record<string, unknown> | undefined)?.['writeOnly'] === true) secret = true;
  }
  if (typeof at !== 'object' || at === null) return secret ? { writeOnly: true } : undefined;
  return secret ? { ...(at as Record<string, unknown>), writeOnly: true } : (at as Record<string, unknown>);
}

/** valueAt returns the value at a JSON pointer's segments in the document. */
function valueAt(document: unknown, segments: readonly (string | number)[]): unknown {
  let at = document;
  for (const part of segments) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string | number, unknown>)[part];
  }
  return at;
}

function schemaIssues(errors: readonly ErrorObject[], document: unknown): ConfigIssue[] {
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  // A value that is none of a field's alternatives gets one message naming them, not one per alternative.
  const alternatives = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const error of errors) {
    if (alternatives.has(error.instancePath) && error.keyword !== 'anyOf') continue;
    const segments = error.instancePath
      .split('/')
      .slice(1)
      .map((part) => {
        const key = part.replaceAll('~1', '/').replaceAll('~0', '~');
        return /^\d+$/.test(key) ? Number(key) : key;
      });
    const message = describe(error, schemaAt(error.schemaPath), valueAt(document, segments));
    const key = `${jsonPath(segments)}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ path: jsonPath(segments), segments, message });
  }
  return issues;
}

/** alternative says in words what one branch of an `anyOf` accepts: `"auto"`, `an integer 1..1024`. */
function alternative(schema: Record<string, unknown>): string {
  if (schema['const'] !== undefined) return JSON.stringify(schema['const']);
  const range =
    schema['minimum'] !== undefined && schema['maximum'] !== undefined
      ? ` ${String(schema['minimum'])}..${String(schema['maximum'])}`
      : '';
  return `${schema['type'] === 'integer' ? 'an integer' : `a ${String(schema['type'])}`}${range}`;
}

/** PATTERN_MEANINGS says in words what each pattern of the schema asks for. */
const PATTERN_MEANINGS: Record<string, string> = {
  '^/': 'must start with "/"',
  '^[ !#-\\[\\]-~]{1,128}$': 'must be 1 to 128 visible ASCII characters or spaces, other than " and \\',
  '^[A-Za-z0-9][A-Za-z0-9._-]*$': 'must be letters, digits, ".", "_" or "-", starting with a letter or digit',
  '^[A-Za-z0-9][A-Za-z0-9._:/-]*$':
    'must be letters, digits, ".", "_", ":", "/" or "-", starting with a letter or digit',
  ...WIRE_MEANINGS,
};

/** describe says what is wrong in words; `schema` is the failing field's schema and `data` its value. */
function describe(error: ErrorObject, schema: Record<string, unknown> | undefined, data: unknown): string {
  const p = error.params as Record<string, unknown>;
  // A secret field's value never appears in a message, whatever is wrong with it.
  const got = schema?.['writeOnly'] === true ? REDACTED : JSON.stringify(data);
  switch (error.keyword) {
    case 'enum':
      return `must be one of ${(p['allowedValues'] as unknown[]).join(', ')}, got ${got}`;
    case 'required':
      return `missing required field "${String(p['missingProperty'])}"`;
    case 'additionalProperties': {
      const field = String(p['additionalProperty']);
      const known = Object.keys((schema?.['properties'] as object | undefined) ?? {});
      const near = closest(field, known);
      return `unknown field "${field}"${near === undefined ? '' : ` (did you mean "${near}"?)`}`;
    }
    case 'type':
      return `must be ${String(p['type'])}, got ${got}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(p['comparison'])} ${String(p['limit'])}, got ${got}`;
    case 'anyOf': {
      const branches = (schema?.['anyOf'] as Record<string, unknown>[] | undefined) ?? [];
      return `must be ${branches.map(alternative).join(' or ')}, got ${got}`;
    }
    case 'minProperties':
    case 'maxProperties':
      return `must name exactly one filter: ${PATH_FILTERS.join(', ')}`;
    case 'minItems':
      return `must have at least ${String(p['limit'])} item${p['limit'] === 1 ? '' : 's'}`;
    case 'minLength':
      return 'must not be empty';
    case 'maxLength':
      return `must be at most ${String(p['limit'])} characters`;
    case 'pattern':
      return `${PATTERN_MEANINGS[String(p['pattern'])] ?? `must match ${String(p['pattern'])}`}, got ${got}`;
    default:
      return error.message ?? `fails ${error.keyword}`;
  }
}

/**
 * referenceIssues finds what the schema cannot: names that do not resolve, duplicates, and values that
 * need more than a pattern. A service or route in `known` passed all this before and is the same object,
 * so only its references to other items are checked again.
 */
function referenceIssues(
  config: PorticoConfig,
  memo?: ValidationMemo,
): { issues: ConfigIssue[]; names: ReadonlyMap<string, number>; listeners: string } {
  const issues: ConfigIssue[] = [];
  const add = (segments: (string | number)[], message: string) =>
    issues.push({ path: jsonPath(segments), segments, message });
  const known = memo?.items;

  const listenerNames = new Map<string, number>();
  const bound = new Map<string, number>();
  config.listeners.forEach((listener, i) => {
    const previous = listenerNames.get(listener.name);
    if (previous !== undefined) add(['listeners', i, 'name'], `duplicates listeners[${previous}].name`);
    listenerNames.set(listener.name, i);
    const socket = `${listener.address}:${listener.port}`;
    const other = bound.get(socket);
    if (other !== undefined && listener.port !== 0) {
      add(['listeners', i, 'port'], `${socket} is already bound by listeners[${other}]`);
    }
    bound.set(socket, i);
  });

  config.errorPages?.forEach((page, k) => {
    errorPageIssues(page, ['errorPages', k], add);
  });

  // Names from the last valid list where they can be, so thousands of unchanged services cost nothing.
  const diff = memo?.diffServices(config.services);
  let services: ReadonlyMap<string, number>;
  if (diff !== undefined) {
    services = diff.names;
    for (const i of diff.changed) {
      const service = config.services[i]!;
      if (known?.has(service) !== true) serviceIssues(service, i, add);
    }
  } else {
    const names = new Map<string, number>();
    config.services.forEach((service, i) => {
      const previous = names.get(service.name);
      if (previous !== undefined) add(['services', i, 'name'], `duplicates services[${previous}].name`);
      names.set(service.name, i);
      if (known?.has(service) !== true) serviceIssues(service, i, add);
    });
    services = names;
  }
  const unknownService = (name: string) => `no service named "${name}" (${servicesKnown(config.services)})`;
  config.errorPages?.forEach((page, k) => {
    if (page.service !== undefined && !services.has(page.service))
      add(['errorPages', k, 'service'], unknownService(page.service));
  });

  // The listeners routes may name: those that serve HTTP.
  const httpListeners = config.listeners
    .filter((l) => l.protocol === 'http' || l.protocol === 'https')
    .map((l) => l.name);
  // Routes checked before are skipped only while what they are checked against is the same.
  const listenersKey = `${httpListeners.join('\n')}\n${config.rateLimitStore === undefined ? '' : 'store'}`;
  const lastRoutes = diff === undefined ? [] : memo!.last('routes', listenersKey);
  config.routes.forEach((route, i) => {
    // Unchanged, and every service name it could refer to is still there (diffServices saw none leave).
    if (lastRoutes[i] === route) return;
    if (known?.has(route) !== true) routeIssues(route, i, add);
    if (route.rateLimit?.global === true && config.rateLimitStore === undefined)
      add(
        ['routes', i, 'rateLimit', 'global'],
        'a global limit needs `rateLimitStore`: the Redis server instances share',
      );
    route.listeners?.forEach((name, k) => {
      if (!httpListeners.includes(name))
        add(
          ['routes', i, 'listeners', k],
          `no http or https listener named "${name}" (${httpListeners.length === 0 ? 'there are none' : `known: ${httpListeners.join(', ')}`})`,
        );
    });
    if (route.mirror !== undefined && !services.has(route.mirror.service))
      add(['routes', i, 'mirror', 'service'], unknownService(route.mirror.service));
    route.errorPages?.forEach((page, k) => {
      if (page.service !== undefined && !services.has(page.service))
        add(['routes', i, 'errorPages', k, 'service'], unknownService(page.service));
    });
    route.paths.forEach((path, j) => {
      const at = ['routes', i, 'paths', j];
      if (path.service !== undefined && !services.has(path.service))
        add([...at, 'service'], unknownService(path.service));
      path.filters?.forEach((filter, k) => {
        if (filter.mirror !== undefined && !services.has(filter.mirror.service))
          add([...at, 'filters', k, 'mirror', 'service'], unknownService(filter.mirror.service));
      });
      path.backends?.forEach((backend, k) => {
        if (backend.unresolved !== true && !services.has(backend.service))
          add([...at, 'backends', k, 'service'], unknownService(backend.service));
      });
    });
  });
  config.listeners.forEach((listener, i) => {
    const at = (field: string) => ['listeners', i, field];
    const refer = (field: string, name: string | undefined, segments = at(field)) => {
      if (name !== undefined && !services.has(name)) add(segments, unknownService(name));
    };
    if (listener.hostnames !== undefined && listener.protocol !== 'http' && listener.protocol !== 'https')
      add(at('hostnames'), 'only http and https listeners serve hostnames (tls-passthrough routes by `sni`)');
    if (listener.access !== undefined && listener.protocol !== 'http' && listener.protocol !== 'https')
      add(at('access'), 'only http and https listeners take an access list');
    if (listener.access !== undefined) accessListIssues(listener.access, ['listeners', i, 'access'], add);
    listener.hostnames?.forEach((hostname, j) => {
      const problem = hostnameProblem(hostname);
      if (problem !== undefined) add(['listeners', i, 'hostnames', j], problem);
    });
    if (listener.protocol === 'tcp' && listener.service === undefined)
      add(at('service'), 'a tcp listener needs a service');
    if (
      listener.protocol === 'tls-passthrough' &&
      listener.sni === undefined &&
      listener.defaultService === undefined
    ) {
      add(at('sni'), 'a tls-passthrough listener needs sni entries or a defaultService');
    }
    if (listener.protocol !== 'tcp' && listener.service !== undefined)
      add(at('service'), 'only tcp listeners take a service');
    if (
      listener.protocol !== 'tls-passthrough' &&
      (listener.sni !== undefined || listener.defaultService !== undefined)
    ) {
      add(
        at(listener.sni !== undefined ? 'sni' : 'defaultService'),
        'only tls-passthrough listeners route by SNI',
      );
    }
    refer('service', listener.service);
    refer('defaultService', listener.defaultService);
    listener.sni?.forEach((entry, j) => {
      refer('service', entry.service, ['listeners', i, 'sni', j, 'service']);
    });
    listener.proxyProtocol?.trustedSources.forEach((cidr, j) => {
      if (parseCidr(cidr) === undefined) {
        add(
          ['listeners', i, 'proxyProtocol', 'trustedSources', j],
          `"${cidr}" is not an IPv4 or IPv6 address or CIDR`,
        );
      }
    });
  });
  issues.push(...tlsIssues(config, add));
  const admin = config.admin;
  if (
    admin !== undefined &&
    !admin.allowRemote &&
    !['127.0.0.1', '::1', 'localhost'].includes(admin.address)
  ) {
    add(
      ['admin', 'address'],
      `"${admin.address}" is not loopback; set admin.allowRemote: true to expose the admin API`,
    );
  }
  config.forwarding.trustedProxies.forEach((cidr, i) => {
    if (parseCidr(cidr) === undefined) {
      add(
        ['forwarding', 'trustedProxies', i],
        `"${cidr}" is not an IPv4 or IPv6 address or CIDR (10.0.0.0/8, fd00::/8)`,
      );
    }
  });
  if (config.defaultService !== undefined && !services.has(config.defaultService)) {
    add(['defaultService'], unknownService(config.defaultService));
  }
  return { issues, names: services, listeners: listenersKey };
}

type AddIssue = (segments: (string | number)[], message: string) => void;

/** servicesKnown names the first few services, for a message about a name that is not one. */
function servicesKnown(services: readonly ServiceConfig[]): string {
  const all = [...new Set(services.map((s) => s.name))];
  if (all.length === 0) return 'no services are defined';
  const names = all.slice(0, 10).join(', ');
  return all.length > 10 ? `known: ${names} and ${all.length - 10} more` : `known: ${names}`;
}

/** serviceIssues checks what one service says on its own: its endpoint addresses. */
function serviceIssues(service: ServiceConfig, i: number, add: AddIssue): void {
  service.endpoints.forEach((endpoint, j) => {
    if (!isEndpointAddress(endpoint.address))
      add(
        ['services', i, 'endpoints', j, 'address'],
        `"${printable(endpoint.address)}" is not an IP address or a DNS name`,
      );
  });
}

/** routeIssues checks what one route says on its own: settings that exclude each other, regexes, header rules. */
function routeIssues(route: RouteConfig, i: number, add: AddIssue): void {
  if (route.rewrite?.fullPath !== undefined && route.rewrite.prefix !== undefined)
    add(['routes', i, 'rewrite'], 'give either `fullPath` or `prefix`, not both');
  if (route.rewrite !== undefined && route.rewriteTarget !== undefined)
    add(['routes', i, 'rewrite'], 'give either `rewrite` or `rewriteTarget`, not both');
  if (route.redirect?.path !== undefined && route.redirect.prefix !== undefined)
    add(['routes', i, 'redirect'], 'give either `path` or `prefix`, not both');
  route.paths.forEach((path, j) => {
    const at = ['routes', i, 'paths', j];
    if (route.rewrite?.prefix !== undefined && (path.type === 'Exact' || path.regex))
      add([...at, 'type'], '`rewrite.prefix` replaces a matched prefix: use Prefix paths');
    if (route.redirect?.prefix !== undefined && (path.type === 'Exact' || path.regex))
      add([...at, 'type'], '`redirect.prefix` replaces a matched prefix: use Prefix paths');
    const redirects = route.redirect !== undefined || path.filters?.some((f) => f.redirect) === true;
    if (path.service !== undefined && path.backends !== undefined) {
      add(at, 'give either `service` or `backends`, not both');
    } else if (path.service === undefined && path.backends === undefined && !redirects) {
      add(
        at,
        "needs a `service` or `backends` (only a path with a `redirect`, its own or its route's, may have neither)",
      );
    }
    if (path.filters !== undefined) pathFilterIssues(path, at, add);
    for (const list of ['headers', 'queryParams'] as const) {
      path[list]?.forEach((match, k) => {
        if (match.type !== 'RegularExpression') return;
        try {
          new RegExp(match.value);
        } catch (error) {
          add([...at, list, k, 'value'], `not a valid regular expression: ${(error as Error).message}`);
        }
      });
    }
  });
  for (const side of ['requestHeaders', 'responseHeaders'] as const) {
    const rules = route[side];
    if (rules !== undefined) headerRulesIssues(rules, side, ['routes', i, side], add);
  }
  if (route.access !== undefined) accessListIssues(route.access, ['routes', i, 'access'], add);
  if (route.cors !== undefined) corsIssues(route.cors, ['routes', i, 'cors'], add);
  if (
    route.inFlight !== undefined &&
    route.inFlight.max === undefined &&
    route.inFlight.maxPerClient === undefined
  )
    add(['routes', i, 'inFlight'], 'give `max`, `maxPerClient` or both');
  const auth = route.basicAuth;
  if (auth !== undefined) {
    const at = ['routes', i, 'basicAuth'];
    if ((auth.htpasswdFile === undefined) === (auth.users === undefined))
      add(at, 'give either `htpasswdFile` or `users`');
    auth.users?.forEach((line, k) => {
      const problem = htpasswdProblem(line);
      // The line holds a password hash: the message says what is wrong, never the line.
      if (problem !== undefined) add([...at, 'users', k], problem);
    });
  }
  route.errorPages?.forEach((page, k) => {
    errorPageIssues(page, ['routes', i, 'errorPages', k], add);
  });
  const limit = route.rateLimit;
  if (limit !== undefined) {
    const at = ['routes', i, 'rateLimit'];
    if ((limit.requestsPerSecond === undefined) === (limit.requestsPerMinute === undefined))
      add(at, 'give either `requestsPerSecond` or `requestsPerMinute`');
    if (limit.key === 'header' && limit.header === undefined)
      add(at, 'key `header` needs `header`: the header to key on');
    if (limit.key !== 'header' && limit.header !== undefined)
      add([...at, 'header'], 'only key `header` takes a header');
    if (limit.global && limit.burst !== undefined)
      add(
        [...at, 'burst'],
        'a global limit counts per window (second or minute): `burst` is for local limits',
      );
  }
}

/** errorPageIssues checks that an error page says where its page comes from, once. */
function errorPageIssues(page: ErrorPageConfig, at: (string | number)[], add: AddIssue): void {
  const sources = [page.body, page.file, page.url, page.service].filter((s) => s !== undefined).length;
  if (sources !== 1) add(at, 'give exactly one of `body`, `file`, `url` and `service`');
}

/** ORIGIN is an origin as a browser sends it, or one with a `*.` subdomain wildcard: scheme://host[:port]. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?$/;

/** corsIssues checks allowed origins and patterns, and credentials with a wildcard origin. */
function corsIssues(cors: CorsConfig, at: (string | number)[], add: AddIssue): void {
  cors.allowOrigins.forEach((origin, k) => {
    if (origin !== '*' && !ORIGIN.test(origin))
      add(
        [...at, 'allowOrigins', k],
        `"${printable(origin)}" is not an origin (scheme://host[:port], a "*." subdomain wildcard, or "*")`,
      );
  });
  if (cors.allowCredentials && cors.allowOrigins.includes('*'))
    add([...at, 'allowOrigins'], 'with `allowCredentials`, "*" is refused by browsers: list the origins');
  cors.allowOriginPatterns?.forEach((pattern, k) => {
    try {
      new RegExp(pattern);
    } catch (error) {
      add([...at, 'allowOriginPatterns', k], `not a valid regular expression: ${(error as Error).message}`);
    }
  });
}

/**
 * htpasswdProblem says what is wrong with an htpasswd line (`user:hash`, the hash bcrypt, apr1 or
 * SHA-1), or undefined when it is one Portico can check. It never repeats the line.
 */
export function htpasswdProblem(line: string): string | undefined {
  const colon = line.indexOf(':');
  if (colon <= 0) return 'is not "user:hash"';
  const hash = line.slice(colon + 1);
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return undefined;
  if (/^\$apr1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return undefined;
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return undefined;
  return 'has a hash that is not bcrypt ($2y$), apr1 ($apr1$) or SHA-1 ({SHA}); crypt and plain text are refused';
}

/** accessListIssues checks that every entry of an access list is an address or a CIDR. */
function accessListIssues(access: AccessListConfig, at: (string | number)[], add: AddIssue): void {
  for (const list of ['allow', 'deny'] as const)
    access[list]?.forEach((entry, k) => {
      if (parseCidr(entry) === undefined)
        add([...at, list, k], `"${printable(entry)}" is not an IPv4 or IPv6 address or CIDR`);
    });
}

/** pathFilterIssues checks a path's own filters: repeats, a redirect with a rewrite, rewrites, header rules. */
function pathFilterIssues(path: RoutePathConfig, at: (string | number)[], add: AddIssue): void {
  const seen = new Set<string>();
  path.filters!.forEach((filter, k) => {
    const where = [...at, 'filters', k];
    const type = Object.keys(filter)[0]!;
    if (type !== 'mirror' && seen.has(type))
      add(where, `a second \`${type}\` filter: only \`mirror\` may be given more than once`);
    seen.add(type);
    const redirect = filter.redirect;
    if (redirect?.path !== undefined && redirect.prefix !== undefined)
      add([...where, 'redirect'], 'give either `path` or `prefix`, not both');
    if (redirect?.prefix !== undefined && (path.type === 'Exact' || path.regex))
      add([...where, 'redirect', 'prefix'], '`prefix` replaces a matched prefix: use a Prefix path');
    const rewrite = filter.rewrite;
    if (rewrite?.fullPath !== undefined && rewrite.prefix !== undefined)
      add([...where, 'rewrite'], 'give either `fullPath` or `prefix`, not both');
    if (rewrite?.prefix !== undefined && (path.type === 'Exact' || path.regex))
      add([...where, 'rewrite', 'prefix'], '`prefix` replaces a matched prefix: use a Prefix path');
    for (const side of ['requestHeaders', 'responseHeaders'] as const) {
      const rules = filter[side];
      if (rules !== undefined) headerRulesIssues(rules, side, [...where, side], add);
    }
  });
  if (seen.has('redirect') && seen.has('rewrite'))
    add([...at, 'filters'], 'a `redirect` answers the request itself: it cannot be combined with `rewrite`');
}

/** hostnameProblem says what the schema's pattern lets through that no DNS name is: an IP, a long label. */
function hostnameProblem(hostname: string): string | undefined {
  if (/^(\*\.)?\d+(\.\d+){3}$/.test(hostname))
    return `"${hostname}" is an IP address; hostnames are DNS names`;
  if (hostname.length > 253) return `"${hostname.slice(0, 40)}..." is longer than 253 characters`;
  const long = hostname.split('.').find((label) => label.length > 63);
  if (long !== undefined) return `label "${long.slice(0, 20)}..." is longer than 63 characters`;
  return undefined;
}

/** PORTICO_OWNED are the fields header rules may not touch: framing, Host, connection handling. */
const PORTICO_OWNED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'upgrade',
  'te',
  'keep-alive',
]);

/** headerRulesIssues checks the names (and a Host value) of request or response header rules at `at`. */
function headerRulesIssues(
  rules: HeaderRulesConfig,
  side: 'requestHeaders' | 'responseHeaders',
  at: (string | number)[],
  add: AddIssue,
): void {
  const names = [...Object.keys(rules.set ?? {}), ...Object.keys(rules.add ?? {}), ...(rules.remove ?? [])];
  for (const name of names) {
    const lower = name.toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      add(at, `"${printable(name)}" is not a valid header name (must be a token)`);
    } else if (lower === 'host' && side === 'requestHeaders') {
      const host = Object.entries(rules.set ?? {}).find(([n]) => n.toLowerCase() === 'host')?.[1];
      if (host === undefined) add(at, '"host" can only be set (upstream vhost), not added or removed');
      else if (!AUTHORITY_RE.test(host))
        add([...at, 'set', name], `${WIRE_MEANINGS[AUTHORITY]}, got ${JSON.stringify(host)}`);
    } else if (PORTICO_OWNED.has(lower)) {
      add(at, `"${name}" is managed by Portico (framing, Host, connection handling) and cannot be changed`);
    }
  }
}

const DNS_NAME = new RegExp(HOST_NAME, 'u');
const AUTHORITY_RE = new RegExp(AUTHORITY, 'u');

/** isEndpointAddress accepts an IPv4 or IPv6 address, or a DNS name that is not made of digits alone. */
function isEndpointAddress(address: string): boolean {
  if (isIP(address) !== 0) return true;
  return address.length <= 253 && DNS_NAME.test(address) && !/^[0-9.]+$/.test(address);
}

/** printable shows a config string in a message with its control characters escaped, at most 100 long. */
function printable(value: string): string {
  return JSON.stringify(value.slice(0, 100)).slice(1, -1);
}

/** tlsIssues checks certificates, their references, and that TLS settings sit on listeners that use them. */
function tlsIssues(
  config: PorticoConfig,
  add: (segments: (string | number)[], message: string) => void,
): ConfigIssue[] {
  const names = new Map<string, number>();
  config.certificates.forEach((cert, i) => {
    const previous = names.get(cert.name);
    if (previous !== undefined) add(['certificates', i, 'name'], `duplicates certificates[${previous}].name`);
    names.set(cert.name, i);
    pemPair(['certificates', i], cert, 'cert', add, true);
  });
  const known = () =>
    names.size === 0 ? 'no certificates are defined' : `known: ${[...names.keys()].join(', ')}`;
  config.listeners.forEach((listener, i) => {
    const tls = listener.tls;
    if (tls !== undefined && listener.protocol !== 'https')
      add(['listeners', i, 'tls'], 'only https listeners take tls settings');
    if (listener.h2c && listener.protocol !== 'http')
      add(['listeners', i, 'h2c'], 'only http listeners take h2c (https offers h2 by ALPN)');
    if (listener.httpsRedirect !== undefined && listener.protocol !== 'http')
      add(['listeners', i, 'httpsRedirect'], 'only http listeners redirect to https');
    if (tls === undefined) return;
    tls.certificates?.forEach((name, j) => {
      if (!names.has(name))
        add(['listeners', i, 'tls', 'certificates', j], `no certificate named "${name}" (${known()})`);
    });
    if (tls.defaultCertificate !== undefined && !names.has(tls.defaultCertificate)) {
      add(
        ['listeners', i, 'tls', 'defaultCertificate'],
        `no certificate named "${tls.defaultCertificate}" (${known()})`,
      );
    }
    const client = tls.clientCertificate;
    if (client !== undefined && (client.ca === undefined) === (client.caFile === undefined))
      add(['listeners', i, 'tls', 'clientCertificate'], 'needs exactly one of caFile and ca');
  });
  config.services.forEach((service, i) => {
    const tls = service.tls;
    if (tls === undefined) return;
    if (tls.ca !== undefined && tls.caFile !== undefined)
      add(['services', i, 'tls'], 'takes caFile or ca, not both');
    pemPair(['services', i, 'tls'], tls, 'client certificate', add, false);
  });
  return [];
}

/** pemPair checks that a certificate and its key come both from files or both inline, once. */
function pemPair(
  at: (string | number)[],
  pem: { certFile?: string; keyFile?: string; cert?: string; key?: string },
  what: string,
  add: (segments: (string | number)[], message: string) => void,
  required: boolean,
): void {
  const files = pem.certFile !== undefined || pem.keyFile !== undefined;
  const inline = pem.cert !== undefined || pem.key !== undefined;
  if (files && inline) add(at, `takes certFile/keyFile or cert/key, not both`);
  else if (files && (pem.certFile === undefined || pem.keyFile === undefined))
    add(at, `a ${what} needs both certFile and keyFile`);
  else if (inline && (pem.cert === undefined || pem.key === undefined))
    add(at, `a ${what} needs both cert and key`);
  else if (required && !files && !inline) add(at, `a ${what} needs certFile and keyFile (or cert and key)`);
}

/** closest returns the candidate within two edits of `word`, if any: the likely intended spelling. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** editDistance is the optimal string alignment distance: an adjacent transposition counts as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}
