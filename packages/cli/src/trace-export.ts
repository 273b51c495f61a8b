import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { TracingConfig } from '@portico/config';
import { REQUEST_CHANNEL, type RequestOutcome } from '@portico/proxy';

type Otlp = NonNullable<TracingConfig['otlp']>;

/** Exporting is a running export: the processor to flush and the subscriber to remove. */
interface Exporting {
  readonly key: string;
  readonly stop: () => Promise<void>;
}

/**
 * TraceExport sends a span per sampled request to an OTLP/HTTP endpoint with the OpenTelemetry SDK, from
 * the `portico:http:request` outcomes (their `trace`: Portico's span id, the one the upstream saw as its
 * parent). The SDK loads only when an `otlp` endpoint is configured; spans go in batches, off the request
 * path. `update` follows config changes: it starts, restarts (another endpoint, service name or headers)
 * or stops the export.
 */
export class TraceExport {
  #running: Exporting | undefined;
  #updating: Promise<void> = Promise.resolve();
  readonly #onError: (message: string) => void;

  constructor(onError: (message: string) => void) {
    this.#onError = onError;
  }

  /** update makes the export match `tracing` (undefined, or without `otlp`: no export). */
  update(tracing: TracingConfig | undefined): Promise<void> {
    const otlp = tracing?.otlp;
    const key = otlp === undefined ? '' : JSON.stringify([otlp, tracing!.serviceName]);
    this.#updating = this.#updating.then(async () => {
      if ((this.#running?.key ?? '') === key) return;
      await this.#running?.stop();
      this.#running = undefined;
      if (otlp !== undefined) this.#running = await start(otlp, tracing!.serviceName, key, this.#onError);
    });
    return this.#updating;
  }

  /** stop flushes what is batched and stops. */
  async stop(): Promise<void> {
    await this.update(undefined);
  }
}

async function start(
  otlp: Otlp,
  serviceName: string,
  key: string,
  onError: (message: string) => void,
): Promise<Exporting> {
  const [
    { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace },
    sdk,
    { resourceFromAttributes },
    otlpHttp,
  ] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  // The ids are the exchange's: Portico's span id is what it already sent upstream in `traceparent`.
  let next: { traceId: string; spanId: string } | undefined;
  const ids = {
    generateTraceId: () => next!.traceId,
    generateSpanId: () => next!.spanId,
  };
  const exporter = new otlpHttp.OTLPTraceExporter({
    url: otlp.endpoint,
    timeoutMillis: otlp.timeoutMs,
    ...(otlp.headers === undefined ? {} : { headers: { ...otlp.headers } }),
  });
  const failing = { count: 0 };
  const reporting = {
    export: (spans: Parameters<typeof exporter.export>[0], done: Parameters<typeof exporter.export>[1]) =>
      exporter.export(spans, (result) => {
        // Said once per outage, never with the endpoint's headers (an API key).
        if (result.code !== 0 && failing.count++ === 0)
          onError(`span export to the OTLP endpoint failed: ${result.error?.message ?? 'unknown error'}`);
        if (result.code === 0) failing.count = 0;
        done(result);
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
  const processor = new sdk.BatchSpanProcessor({ exporter: reporting, scheduledDelayMillis: 1_000 });
  const provider = new sdk.TracerProvider({
    idGenerator: ids,
    sampler: new sdk.AlwaysOnSampler(),
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('portico');
  const onRequest = (message: unknown) => {
    const o = message as RequestOutcome;
    const t = o.trace;
    if (t === undefined || !t.sampled) return;
    const end = Date.now();
    const parent =
      t.parentSpanId === undefined
        ? ROOT_CONTEXT
        : trace.setSpanContext(ROOT_CONTEXT, {
            traceId: t.traceId,
            spanId: t.parentSpanId,
            traceFlags: TraceFlags.SAMPLED,
            isRemote: true,
          });
    next = { traceId: t.traceId, spanId: t.spanId };
    const span = tracer.startSpan(
      `${o.method ?? 'HTTP'} ${o.route ?? o.path ?? ''}`,
      {
        kind: SpanKind.SERVER,
        startTime: end - o.durationMs,
        attributes: {
          'http.request.method': o.method ?? '',
          'http.response.status_code': o.status,
          'url.path': o.path ?? '',
          ...(o.query ? { 'url.query': o.query } : {}),
          'server.address': o.host ?? '',
          'client.address': o.client,
          'network.protocol.version': o.protocol.replace('HTTP/', ''),
          ...(o.userAgent === undefined ? {} : { 'user_agent.original': o.userAgent }),
          ...(o.route === undefined ? {} : { 'portico.route': o.route }),
          ...(o.service === undefined ? {} : { 'portico.service': o.service }),
          ...(o.endpoint === undefined ? {} : { 'portico.endpoint': o.endpoint }),
          ...(o.errorCode === undefined ? {} : { 'error.type': o.errorCode }),
        },
      },
      parent,
    );
    next = undefined;
    if (o.status >= 500)
      span.setStatus({ code: SpanStatusCode.ERROR, message: o.errorCode ?? String(o.status) });
    span.end(end);
  };
  subscribe(REQUEST_CHANNEL, onRequest);
  return {
    key,
    stop: async () => {
      unsubscribe(REQUEST_CHANNEL, onRequest);
      await provider.shutdown().catch(() => {});
    },
  };
}
