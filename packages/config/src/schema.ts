import { type Static, Type } from '@sinclair/typebox';
import {
  DEFAULT_BALANCER,
  DEFAULT_ENDPOINT_WEIGHT,
  DEFAULT_LIMITS,
  DEFAULT_LISTEN_ADDRESS,
  DEFAULT_PATH_TYPE,
  DEFAULT_SHUTDOWN,
  DEFAULT_TIMEOUTS,
  DEFAULT_UPSTREAM_POOL,
} from './defaults.ts';
import { StringEnum } from './string-enum.ts';

/** PATH_TYPES are the Kubernetes Ingress v1 path types. */
export const PATH_TYPES = ['Exact', 'Prefix', 'ImplementationSpecific'] as const;

/** BALANCERS are the load-balancing policies a service may name. */
export const BALANCERS = ['round-robin'] as const;

const Milliseconds = (description: string, value: number) =>
  Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000, default: value, description }));
const Bytes = (description: string, value: number, minimum = 1) =>
  Type.Optional(Type.Integer({ minimum, maximum: 2 ** 40, default: value, description }));

export const ListenerSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      description: 'Unique name of the listener.',
    }),
    address: Type.Optional(
      Type.String({ minLength: 1, default: DEFAULT_LISTEN_ADDRESS, description: 'IP address to bind.' }),
    ),
    port: Type.Integer({
      minimum: 0,
      maximum: 65_535,
      description: 'TCP port to bind; 0 picks a free port.',
    }),
    protocol: Type.Optional(
      StringEnum(['http'] as const, { default: 'http', description: 'What the listener speaks.' }),
    ),
  },
  { additionalProperties: false },
);

export const RoutePathSchema = Type.Object(
  {
    path: Type.String({
      pattern: '^/',
      maxLength: 4_096,
      description: 'Request path to match; starts with "/".',
    }),
    type: Type.Optional(
      StringEnum(PATH_TYPES, { default: DEFAULT_PATH_TYPE, description: 'How `path` matches (Ingress v1).' }),
    ),
    regex: Type.Optional(
      Type.Boolean({
        default: false,
        description:
          'With type ImplementationSpecific: `path` is a regular expression matched from the start of the request path.',
      }),
    ),
    service: Type.String({ minLength: 1, description: 'Name of the service that serves this path.' }),
  },
  { additionalProperties: false },
);

export const RouteSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, description: 'Name used in logs and metrics.' })),
    host: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 253,
        description: 'Host to match: `foo.example.com` or `*.example.com`; omitted matches any host.',
      }),
    ),
    paths: Type.Array(RoutePathSchema, { minItems: 1, description: 'Paths served under this host.' }),
  },
  { additionalProperties: false },
);

export const EndpointSchema = Type.Object(
  {
    address: Type.String({ minLength: 1, description: 'IP address or host name of the endpoint.' }),
    port: Type.Integer({ minimum: 1, maximum: 65_535, description: 'TCP port of the endpoint.' }),
    weight: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000,
        default: DEFAULT_ENDPOINT_WEIGHT,
        description: 'Relative share of traffic.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ServiceSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]*$',
      description: 'Unique name that routes refer to.',
    }),
    endpoints: Type.Optional(
      Type.Array(EndpointSchema, { default: [], description: 'Where requests for this service go.' }),
    ),
    balancer: Type.Optional(
      StringEnum(BALANCERS, { default: DEFAULT_BALANCER, description: 'Load-balancing policy.' }),
    ),
  },
  { additionalProperties: false },
);

const T = DEFAULT_TIMEOUTS;
export const TimeoutsSchema = Type.Object(
  {
    clientHeadMs: Milliseconds(
      'Time allowed from the first byte of a request to the end of its head.',
      T.clientHeadMs,
    ),
    clientIdleMs: Milliseconds(
      'Idle time after which a client keep-alive connection is closed.',
      T.clientIdleMs,
    ),
    clientBodyIdleMs: Milliseconds('Longest pause between two reads of a request body.', T.clientBodyIdleMs),
    upstreamConnectMs: Milliseconds('Time allowed for a TCP connect to an endpoint.', T.upstreamConnectMs),
    upstreamResponseHeadMs: Milliseconds(
      "Time allowed for the upstream's response head after the request was sent.",
      T.upstreamResponseHeadMs,
    ),
    upstreamIdleMs: Milliseconds(
      'Idle time after which a pooled upstream connection is closed.',
      T.upstreamIdleMs,
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description: 'Timeouts in milliseconds; each fires within 250 ms of expiry.',
  },
);

const L = DEFAULT_LIMITS;
export const LimitsSchema = Type.Object(
  {
    maxRequestLineBytes: Bytes('Longest request line accepted (414 beyond it).', L.maxRequestLineBytes),
    maxHeadBytes: Bytes('Largest request head accepted (431 beyond it).', L.maxHeadBytes),
    maxHeaderCount: Bytes('Most header fields in one request head (431 beyond it).', L.maxHeaderCount),
    maxBodyBytes: Bytes(
      'Largest request body accepted (413 beyond it); 0 means no limit.',
      L.maxBodyBytes,
      0,
    ),
    maxResponseHeadBytes: Bytes('Largest response head accepted from an upstream.', L.maxResponseHeadBytes),
  },
  { additionalProperties: false, default: {}, description: 'Limits on what clients and upstreams control.' },
);

const P = DEFAULT_UPSTREAM_POOL;
export const UpstreamPoolSchema = Type.Object(
  {
    maxIdlePerEndpoint: Bytes('Idle keep-alive connections kept per endpoint.', P.maxIdlePerEndpoint, 0),
    maxRequestsPerConnection: Bytes(
      'Requests after which an upstream connection is retired; 0 means never.',
      P.maxRequestsPerConnection,
      0,
    ),
  },
  { additionalProperties: false, default: {}, description: 'Keep-alive connections kept to each endpoint.' },
);

export const ShutdownSchema = Type.Object(
  {
    drainTimeoutMs: Milliseconds(
      'How long in-flight requests may run after SIGTERM/SIGINT.',
      DEFAULT_SHUTDOWN.drainTimeoutMs,
    ),
  },
  { additionalProperties: false, default: {}, description: 'What happens on SIGTERM and SIGINT.' },
);

/** PorticoConfigSchema is the whole config document (`portico.yaml`). */
export const PorticoConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'Path or URL of this JSON Schema, for editors.' })),
    listeners: Type.Array(ListenerSchema, {
      minItems: 1,
      description: 'Sockets Portico accepts clients on.',
    }),
    routes: Type.Optional(Type.Array(RouteSchema, { default: [], description: 'Host and path rules.' })),
    services: Type.Optional(
      Type.Array(ServiceSchema, { default: [], description: 'Named groups of endpoints.' }),
    ),
    defaultService: Type.Optional(
      Type.String({ minLength: 1, description: 'Service for requests no route matches; without one, 404.' }),
    ),
    timeouts: Type.Optional(TimeoutsSchema),
    limits: Type.Optional(LimitsSchema),
    upstreamPool: Type.Optional(UpstreamPoolSchema),
    shutdown: Type.Optional(ShutdownSchema),
  },
  {
    additionalProperties: false,
    title: 'Portico configuration',
    description: 'The configuration of a Portico edge proxy (portico.yaml).',
  },
);

/** PorticoConfigInput is a config document as written, before defaults. */
export type PorticoConfigInput = Static<typeof PorticoConfigSchema>;

/** Keys that stay optional after defaults are applied: they have no default. */
type KeyWithoutDefault = 'name' | 'host' | 'defaultService' | '$schema';

/** WithDefaults makes every optional key that has a default required, recursively; others keep their modifier. */
type WithDefaults<T> = T extends readonly (infer U)[]
  ? WithDefaults<U>[]
  : T extends object
    ? { [K in keyof T as K extends KeyWithoutDefault ? never : K]-?: WithDefaults<T[K]> } & {
        [K in keyof T as K extends KeyWithoutDefault ? K : never]: WithDefaults<T[K]>;
      }
    : T;

/** PorticoConfig is a validated config document with every default filled in. */
export type PorticoConfig = WithDefaults<PorticoConfigInput>;
export type ListenerConfig = PorticoConfig['listeners'][number];
export type RouteConfig = PorticoConfig['routes'][number];
export type RoutePathConfig = RouteConfig['paths'][number];
export type ServiceConfig = PorticoConfig['services'][number];
export type EndpointConfig = ServiceConfig['endpoints'][number];
export type TimeoutsConfig = PorticoConfig['timeouts'];
export type LimitsConfig = PorticoConfig['limits'];
export type UpstreamPoolConfig = PorticoConfig['upstreamPool'];
