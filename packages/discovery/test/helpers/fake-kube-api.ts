// biome-ignore-all lint/correctness/noVoidTypeReturn: request handlers end with `return this.#answer(...)`, which reads as "answer and stop".
import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * FakeKubeApi is a Kubernetes API server for tests. It speaks the wire protocol as the API reference
 * describes it: LIST with resourceVersion and limit/continue, WATCH as chunked JSON lines (ADDED,
 * MODIFIED, DELETED, BOOKMARK, ERROR) from a resourceVersion, 410 Gone for versions older than its
 * history, status subresource PATCH, create/update with resourceVersion conflicts (409), label and field
 * selectors; and it can be told to fail: 500s, silent hangs, closes, in-stream 410s, a whole outage.
 */

interface Stored {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    generation?: number;
    labels?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

interface HistoryEntry {
  rv: number;
  collection: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Stored;
}

interface Watcher {
  collection: string;
  namespace: string | undefined;
  filter: (o: Stored) => boolean;
  res: ServerResponse;
}

/** KINDS maps a resource plural to its group-version prefix and kind. */
const KINDS: Record<string, { prefix: string; kind: string; apiVersion: string; namespaced: boolean }> = {
  ingresses: {
    prefix: '/apis/networking.k8s.io/v1',
    kind: 'Ingress',
    apiVersion: 'networking.k8s.io/v1',
    namespaced: true,
  },
  ingressclasses: {
    prefix: '/apis/networking.k8s.io/v1',
    kind: 'IngressClass',
    apiVersion: 'networking.k8s.io/v1',
    namespaced: false,
  },
  services: { prefix: '/api/v1', kind: 'Service', apiVersion: 'v1', namespaced: true },
  endpointslices: {
    prefix: '/apis/discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    namespaced: true,
  },
  secrets: { prefix: '/api/v1', kind: 'Secret', apiVersion: 'v1', namespaced: true },
  events: { prefix: '/api/v1', kind: 'Event', apiVersion: 'v1', namespaced: true },
  pods: { prefix: '/api/v1', kind: 'Pod', apiVersion: 'v1', namespaced: true },
  leases: {
    prefix: '/apis/coordination.k8s.io/v1',
    kind: 'Lease',
    apiVersion: 'coordination.k8s.io/v1',
    namespaced: true,
  },
  namespaces: { prefix: '/api/v1', kind: 'Namespace', apiVersion: 'v1', namespaced: false },
  configmaps: { prefix: '/api/v1', kind: 'ConfigMap', apiVersion: 'v1', namespaced: true },
  // The Gateway API's kinds, served when the server is made with `gatewayApi: true` (its CRDs installed).
  gatewayclasses: {
    prefix: '/apis/gateway.networking.k8s.io/v1',
    kind: 'GatewayClass',
    apiVersion: 'gateway.networking.k8s.io/v1',
    namespaced: false,
  },
  gateways: {
    prefix: '/apis/gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    apiVersion: 'gateway.networking.k8s.io/v1',
    namespaced: true,
  },
  httproutes: {
    prefix: '/apis/gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    apiVersion: 'gateway.networking.k8s.io/v1',
    namespaced: true,
  },
  grpcroutes: {
    prefix: '/apis/gateway.networking.k8s.io/v1',
    kind: 'GRPCRoute',
    apiVersion: 'gateway.networking.k8s.io/v1',
    namespaced: true,
  },
  tlsroutes: {
    prefix: '/apis/gateway.networking.k8s.io/v1alpha2',
    kind: 'TLSRoute',
    apiVersion: 'gateway.networking.k8s.io/v1alpha2',
    namespaced: true,
  },
  referencegrants: {
    prefix: '/apis/gateway.networking.k8s.io/v1beta1',
    kind: 'ReferenceGrant',
    apiVersion: 'gateway.networking.k8s.io/v1beta1',
    namespaced: true,
  },
};

/** GATEWAY_PLURALS are the kinds that exist only when the Gateway API's CRDs are installed. */
const GATEWAY_PLURALS = new Set([
  'tlsroutes',
  'gatewayclasses',
  'gateways',
  'httproutes',
  'grpcroutes',
  'referencegrants',
]);

export type Plural = keyof typeof KINDS;

/** Faults are switches a test flips; each applies to requests that arrive after it is set. */
export interface Faults {
  /** watchStatus answers every watch request with this status (500, 410...). */
  watchStatus?: number;
  /** listStatus answers every list request with this status. */
  listStatus?: number;
  /** watchHang accepts watches and then sends nothing, ever (no bookmark either). */
  watchHang?: boolean;
  /** watchClose ends every watch right after its headers. */
  watchClose?: boolean;
  /** watchGoneInStream sends an ERROR event with code 410 on each new watch, then ends it. */
  watchGoneInStream?: boolean;
  /** expireContinue answers any list with a `continue` token with 410 (the token expired). */
  expireContinue?: boolean;
}

/** Request records one request the server received. */
export interface RecordedRequest {
  readonly method: string;
  readonly plural: string;
  readonly watch: boolean;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly userAgent: string | undefined;
}

export interface FakeKubeApiOptions {
  /** tls serves HTTPS with this certificate and key. */
  readonly tls?: { cert: string; key: string };
  /** token, when set, is the only bearer token accepted (401 otherwise). */
  token?: string | undefined;
  /** gatewayApi serves the Gateway API's kinds and their discovery documents, as if its CRDs were installed. */
  readonly gatewayApi?: boolean;
}

export class FakeKubeApi {
  readonly #objects = new Map<string, Map<string, Stored>>();
  #history: HistoryEntry[] = [];
  /** #oldestRv: a watch from a version older than this is answered 410 Gone. */
  #oldestRv = 0;
  #rv = 100;
  readonly #watchers = new Set<Watcher>();
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;
  readonly #options: FakeKubeApiOptions;
  #port = 0;
  faults: Faults = {};
  readonly requests: RecordedRequest[] = [];

  constructor(options: FakeKubeApiOptions = {}) {
    this.#options = options;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    this.#server =
      options.tls === undefined ? createHttpServer(handler) : createHttpsServer(options.tls, handler);
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  set token(value: string | undefined) {
    this.#options.token = value;
  }

  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `${this.#options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.#port}`;
  }

  /** outage stops answering: the port is closed and every open connection (watches too) is cut. */
  async outage(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#watchers.clear();
    await closed;
  }

  /** heal listens on the same port again. */
  async heal(): Promise<void> {
    await this.start(this.#port);
  }

  async close(): Promise<void> {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** watchRequests counts watch requests, for one plural or all. */
  watchRequests(plural?: string): number {
    return this.requests.filter((r) => r.watch && (plural === undefined || r.plural === plural)).length;
  }

  /** resourceVersion is the latest version the server handed out. */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** openWatches counts watch streams open now. */
  get openWatches(): number {
    return this.#watchers.size;
  }

  /** dropWatches ends every open watch cleanly (as an API server restart or a load balancer would). */
  dropWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  /** compact forgets history: watches from any version before now are answered 410. */
  compact(): void {
    this.#history = [];
    this.#oldestRv = this.#rv;
  }

  /** bookmark sends a BOOKMARK event with the current version to every open watch. */
  bookmark(): void {
    for (const w of this.#watchers) {
      const info = KINDS[w.collection]!;
      this.#send(w.res, {
        type: 'BOOKMARK',
        object: {
          kind: info.kind,
          apiVersion: info.apiVersion,
          metadata: { resourceVersion: String(this.#rv) },
        },
      });
    }
  }

  /** get returns a stored object (as the API would serve it). */
  get(plural: Plural, namespace: string | undefined, name: string): Stored | undefined {
    return this.#collection(plural).get(this.#key(namespace, name));
  }

  list(plural: Plural): Stored[] {
    return [...this.#collection(plural).values()];
  }

  /** apply creates or replaces an object (kind and apiVersion filled in), as `kubectl apply` would. */
  apply(
    plural: Plural,
    object: { metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown },
  ): Stored {
    const info = KINDS[plural]!;
    const collection = this.#collection(plural);
    const key = this.#key(
      info.namespaced ? (object.metadata.namespace ?? 'default') : undefined,
      object.metadata.name,
    );
    const previous = collection.get(key);
    const stored = this.#stamp(plural, object, previous);
    collection.set(key, stored);
    this.#record(plural, previous === undefined ? 'ADDED' : 'MODIFIED', stored);
    return stored;
  }

  delete(plural: Plural, namespace: string | undefined, name: string): boolean {
    const collection = this.#collection(plural);
    const key = this.#key(namespace, name);
    const previous = collection.get(key);
    if (previous === undefined) return false;
    collection.delete(key);
    this.#rv++;
    const gone = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(this.#rv) } };
    this.#record(plural, 'DELETED', gone, false);
    return true;
  }

  #collection(plural: string): Map<string, Stored> {
    let c = this.#objects.get(plural);
    if (c === undefined) {
      c = new Map();
      this.#objects.set(plural, c);
    }
    return c;
  }

  /** #serves says whether a kind exists on this server (the Gateway API's only with its CRDs). */
  #serves(plural: string): boolean {
    return this.#options.gatewayApi === true || !GATEWAY_PLURALS.has(plural);
  }

  #key(namespace: string | undefined, name: string): string {
    return namespace === undefined ? name : `${namespace}/${name}`;
  }

  #stamp(
    plural: string,
    object: Record<string, unknown> & { metadata: Record<string, unknown> },
    previous: Stored | undefined,
  ): Stored {
    const info = KINDS[plural]!;
    this.#rv++;
    const metadata = {
      ...object.metadata,
      ...(info.namespaced
        ? { namespace: (object.metadata.namespace as string | undefined) ?? 'default' }
        : {}),
      uid: previous?.metadata.uid ?? randomUUID(),
      resourceVersion: String(this.#rv),
      // generation counts changes of the spec (and of anything but status and metadata), as the API does.
      generation:
        previous === undefined
          ? 1
          : (previous.metadata.generation ?? 1) + (specOf(object) === specOf(previous) ? 0 : 1),
      creationTimestamp:
        previous?.metadata.creationTimestamp ?? new Date(Date.now() + this.#rv).toISOString(),
    };
    return { ...object, apiVersion: info.apiVersion, kind: info.kind, metadata } as Stored;
  }

  #record(plural: string, type: HistoryEntry['type'], object: Stored, bump = true): void {
    void bump;
    const rv = Number(object.metadata.resourceVersion);
    this.#history.push({ rv, collection: plural, type, object });
    for (const w of this.#watchers) {
      if (w.collection !== plural) continue;
      if (w.namespace !== undefined && object.metadata.namespace !== w.namespace) continue;
      if (!w.filter(object)) continue;
      this.#send(w.res, { type, object });
    }
  }

  #send(res: ServerResponse, event: unknown): void {
    if (!res.writableEnded) res.write(`${JSON.stringify(event)}\n`);
  }

  #status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = parsePath(url.pathname);
    const watch = url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true';
    this.requests.push({
      method: req.method ?? 'GET',
      plural: route?.plural ?? '',
      watch,
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      userAgent: req.headers['user-agent'],
    });
    if (this.#options.token !== undefined && req.headers.authorization !== `Bearer ${this.#options.token}`)
      return this.#status(res, 401, 'Unauthorized', 'Unauthorized');
    const group = /^\/apis\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
    if (group !== null && req.method === 'GET') {
      // API discovery: the resources of a group version (what `kubectl api-resources` reads).
      const prefix = `/apis/${group[1]}/${group[2]}`;
      const resources = Object.entries(KINDS)
        .filter(([plural, info]) => info.prefix === prefix && this.#serves(plural))
        .map(([plural, info]) => ({ name: plural, kind: info.kind, namespaced: info.namespaced }));
      if (resources.length === 0) return this.#status(res, 404, 'NotFound', `${prefix} not found`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ kind: 'APIResourceList', groupVersion: `${group[1]}/${group[2]}`, resources }),
      );
      return;
    }
    if (route === undefined || KINDS[route.plural] === undefined || !this.#serves(route.plural))
      return this.#status(
        res,
        404,
        'NotFound',
        `the server could not find the requested resource ${url.pathname}`,
      );
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text === '' ? undefined : JSON.parse(text);
      this.#route(req.method ?? 'GET', route, url.searchParams, watch, body, res);
    });
  }

  #route(
    method: string,
    route: ParsedPath,
    query: URLSearchParams,
    watch: boolean,
    body: (Record<string, unknown> & { metadata: Record<string, unknown> }) | undefined,
    res: ServerResponse,
  ): void {
    const { plural, namespace, name, subresource } = route;
    const collection = this.#collection(plural);
    if (name === undefined && method === 'GET') {
      if (watch) return this.#watch(route, query, res);
      return this.#list(route, query, res);
    }
    if (name === undefined && method === 'POST') {
      if (body === undefined) return this.#status(res, 400, 'BadRequest', 'no body');
      const key = this.#key(
        namespace,
        (body.metadata.name as string | undefined) ?? `${body.metadata.generateName ?? 'obj-'}${this.#rv}`,
      );
      if (collection.has(key))
        return this.#status(res, 409, 'AlreadyExists', `${plural} "${key}" already exists`);
      const stored = this.#stamp(
        plural,
        {
          ...body,
          metadata: {
            ...body.metadata,
            name: key.split('/').pop(),
            ...(namespace === undefined ? {} : { namespace }),
          },
        },
        undefined,
      );
      collection.set(key, stored);
      this.#record(plural, 'ADDED', stored);
      res.writeHead(201, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(stored));
    }
    if (name === undefined) return this.#status(res, 405, 'MethodNotAllowed', method);
    const key = this.#key(namespace, name);
    const current = collection.get(key);
    if (current === undefined) return this.#status(res, 404, 'NotFound', `${plural} "${name}" not found`);
    if (method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(current));
    }
    if (method === 'PUT' && body !== undefined) {
      const rv = body.metadata.resourceVersion;
      if (rv !== undefined && rv !== current.metadata.resourceVersion)
        return this.#status(
          res,
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      const next =
        subresource === 'status' ? { ...current, status: body.status } : { ...body, status: current.status };
      const stored = this.#stamp(plural, next as Stored, current);
      collection.set(key, stored);
      this.#record(plural, 'MODIFIED', stored);
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(stored));
    }
    if (method === 'PATCH' && body !== undefined) {
      const merged = mergePatch(
        current,
        subresource === 'status' ? { status: (body as { status?: unknown }).status } : body,
      ) as Stored;
      const stored = this.#stamp(plural, merged, current);
      collection.set(key, stored);
      this.#record(plural, 'MODIFIED', stored);
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(stored));
    }
    if (method === 'DELETE') {
      this.delete(plural as Plural, namespace, name);
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(current));
    }
    return this.#status(res, 405, 'MethodNotAllowed', method);
  }

  #filter(route: ParsedPath, query: URLSearchParams): (o: Stored) => boolean {
    const labels = parseSelector(query.get('labelSelector'));
    const fields = parseSelector(query.get('fieldSelector'));
    return (o) =>
      (route.namespace === undefined || o.metadata.namespace === route.namespace) &&
      labels.every(([k, op, v]) => matches(o.metadata.labels?.[k], op, v)) &&
      fields.every(([k, op, v]) => matches(fieldOf(o, k), op, v));
  }

  #list(route: ParsedPath, query: URLSearchParams, res: ServerResponse): void {
    if (this.faults.listStatus !== undefined)
      return this.#status(res, this.faults.listStatus, 'InternalError', 'injected list failure');
    const cont = query.get('continue');
    if (cont !== null && this.faults.expireContinue)
      return this.#status(
        res,
        410,
        'Expired',
        'The provided continue parameter is too old to display a consistent list result.',
      );
    const filter = this.#filter(route, query);
    const all = [...this.#collection(route.plural).entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([, o]) => o)
      .filter(filter);
    const limit = Number(query.get('limit') ?? 0);
    let start = 0;
    let rv = String(this.#rv);
    if (cont !== null) {
      const parsed = JSON.parse(Buffer.from(cont, 'base64url').toString()) as { start: number; rv: string };
      start = parsed.start;
      rv = parsed.rv;
    }
    const items = limit > 0 ? all.slice(start, start + limit) : all.slice(start);
    const next =
      limit > 0 && start + limit < all.length
        ? Buffer.from(JSON.stringify({ start: start + limit, rv })).toString('base64url')
        : undefined;
    const info = KINDS[route.plural]!;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: `${info.kind}List`,
        apiVersion: info.apiVersion,
        metadata: { resourceVersion: rv, ...(next === undefined ? {} : { continue: next }) },
        items,
      }),
    );
  }

  #watch(route: ParsedPath, query: URLSearchParams, res: ServerResponse): void {
    const f = this.faults;
    if (f.watchStatus !== undefined)
      return this.#status(res, f.watchStatus, 'InternalError', 'injected watch failure');
    const from = Number(query.get('resourceVersion') ?? 0);
    if (from !== 0 && from < this.#oldestRv)
      return this.#status(res, 410, 'Expired', `too old resource version: ${from} (${this.#oldestRv})`);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (f.watchHang) return;
    if (f.watchClose) return void res.end();
    if (f.watchGoneInStream) {
      this.#send(res, {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: 'too old resource version',
          reason: 'Expired',
          code: 410,
        },
      });
      return void res.end();
    }
    const filter = this.#filter(route, query);
    for (const entry of this.#history)
      if (entry.collection === route.plural && entry.rv > from && filter(entry.object))
        this.#send(res, { type: entry.type, object: entry.object });
    const watcher: Watcher = { collection: route.plural, namespace: route.namespace, filter, res };
    this.#watchers.add(watcher);
    const timeout = Number(query.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      if (timer !== undefined) clearTimeout(timer);
      this.#watchers.delete(watcher);
    });
  }
}

interface ParsedPath {
  plural: string;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

/** parsePath reads `/api/v1[/namespaces/ns]/plural[/name[/sub]]` and the `/apis/group/version` form. */
/** specOf is what of an object counts for its generation: all but its metadata, status and type. */
function specOf(object: object): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object as Record<string, unknown>;
  return JSON.stringify(rest);
}

function parsePath(path: string): ParsedPath | undefined {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') rest = parts.slice(2);
  else if (parts[0] === 'apis' && parts.length >= 3) rest = parts.slice(3);
  else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest[0] === undefined) return undefined;
  return { plural: rest[0], namespace, name: rest[1], subresource: rest[2] };
}

function parseSelector(text: string | null): [string, '=' | '!=' | 'exists', string][] {
  if (text === null || text === '') return [];
  return text.split(',').map((term) => {
    const ne = term.indexOf('!=');
    if (ne !== -1) return [term.slice(0, ne), '!=', term.slice(ne + 2)];
    const eq = term.indexOf('=');
    if (eq === -1) return [term, 'exists', ''];
    return [term.slice(0, eq), '=', term.slice(eq + 1).replace(/^=/, '')];
  });
}

function matches(actual: string | undefined, op: '=' | '!=' | 'exists', expected: string): boolean {
  if (op === 'exists') return actual !== undefined;
  return op === '=' ? actual === expected : actual !== expected;
}

function fieldOf(o: Stored, field: string): string | undefined {
  let value: unknown = o;
  for (const part of field.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  return value === undefined ? undefined : String(value);
}

/** mergePatch applies an RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
