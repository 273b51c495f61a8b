import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { parseTraceparent } from '@portico/proxy';
import { pino } from 'pino';
import { type RunningPortico, startPortico } from 'portico';
import { request } from 'undici';
import { until } from './helpers/kube-harness.ts';

const quiet = () => pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() }));

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
  status?: { code?: number };
}

/** hex reads an OTLP/JSON id: hex as the OTLP spec says, or base64 as protobuf-JSON mapping would have it. */
const hex = (id: string | undefined) =>
  id === undefined || id === ''
    ? undefined
    : /^[0-9a-f]+$/.test(id)
      ? id
      : Buffer.from(id, 'base64').toString('hex');

/**
 * W3C trace context through Portico: a request's trace continues (or starts) with Portico's span as the
 * backend's parent, one trace id end to end, and the span reaches a local OTLP/HTTP receiver through the
 * OpenTelemetry SDK.
 */
describe('tracing: traceparent through Portico, spans over OTLP/HTTP', () => {
  let backend: Server;
  let receiver: Server;
  let running: RunningPortico;
  let dir: string;
  let port: number;
  const spans: ExportedSpan[] = [];
  let resourceName = '';

  before(async () => {
    backend = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ traceparent: req.headers.traceparent, tracestate: req.headers.tracestate }));
    });
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as {
          resourceSpans: {
            resource: { attributes: { key: string; value: { stringValue: string } }[] };
            scopeSpans: { spans: ExportedSpan[] }[];
          }[];
        };
        for (const rs of body.resourceSpans) {
          resourceName =
            rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      });
    });
    for (const s of [backend, receiver])
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    dir = await mkdtemp(join(tmpdir(), 'portico-trace-'));
    const file = join(dir, 'portico.yaml');
    await writeFile(
      file,
      `listeners: [{ name: web, address: 127.0.0.1, port: 0 }]
routes: [{ name: traced, paths: [{ path: /, service: app }] }]
services: [{ name: app, endpoints: [{ address: 127.0.0.1, port: ${(backend.address() as AddressInfo).port} }] }]
tracing:
  sampleRatio: 1
  serviceName: edge-test
  otlp: { endpoint: "http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces" }
`,
    );
    running = await startPortico({ config: file }, quiet());
    port = running.proxy.listeners()[0]!.port;
  });

  after(async () => {
    await running.stop(200);
    for (const s of [backend, receiver]) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
    await rm(dir, { recursive: true, force: true });
  });

  const send = async (headers: Record<string, string>, path = '/orders?id=7') => {
    const res = await request(`http://127.0.0.1:${port}${path}`, { headers });
    return (await res.body.json()) as { traceparent?: string; tracestate?: string };
  };
  const spanOf = (traceId: string) => spans.find((s) => hex(s.traceId) === traceId);

  it("continues the client's trace: the backend's parent is Portico's span, whose parent is the client's", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const clientSpan = '00f067aa0ba902b7';
    const seen = await send({
      traceparent: `00-${traceId}-${clientSpan}-01`,
      tracestate: 'vendor=opaque,other=1',
    });
    const upstream = parseTraceparent(seen.traceparent);
    assert.ok(upstream, `the backend got a valid traceparent: ${seen.traceparent}`);
    assert.equal(upstream.traceId, traceId, 'one trace id end to end');
    assert.notEqual(upstream.parentId, clientSpan, "Portico's own span in between");
    assert.equal(upstream.sampled, true);
    assert.equal(seen.tracestate, 'vendor=opaque,other=1', 'tracestate passes on as it came');
    await until(() => spanOf(traceId) !== undefined, 10_000, 'the span at the OTLP receiver');
    const span = spanOf(traceId)!;
    assert.equal(
      hex(span.spanId),
      upstream.parentId,
      'the exported span is the one the backend saw as parent',
    );
    assert.equal(hex(span.parentSpanId), clientSpan);
    assert.equal(span.kind, 2, 'a SERVER span');
    assert.equal(resourceName, 'edge-test');
    const attribute = (key: string) => {
      const v = span.attributes.find((a) => a.key === key)?.value;
      return v?.stringValue ?? (v?.intValue === undefined ? undefined : Number(v.intValue));
    };
    assert.equal(attribute('http.request.method'), 'GET');
    assert.equal(attribute('http.response.status_code'), 200);
    assert.equal(attribute('url.path'), '/orders');
    assert.equal(attribute('url.query'), 'id=7');
    assert.equal(attribute('portico.route'), 'traced');
  });

  it('starts a trace for a request without one, and restarts one for an invalid traceparent', async () => {
    const fresh = parseTraceparent((await send({})).traceparent);
    assert.ok(fresh?.sampled, 'sampleRatio 1: sampled');
    await until(() => spanOf(fresh.traceId) !== undefined, 10_000, 'the new trace exported');
    assert.equal(spanOf(fresh.traceId)!.parentSpanId ?? '', '', 'a root span');
    for (const invalid of [
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01', // upper case
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // all-zero trace id
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // version ff
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra', // version 00 with more
    ]) {
      const upstream = parseTraceparent((await send({ traceparent: invalid })).traceparent);
      assert.ok(upstream, invalid);
      assert.notEqual(upstream.traceId, '4bf92f3577b34da6a3ce929d0e0e4736', `${invalid}: a new trace`);
    }
  });

  it("keeps a client's decision not to sample: flags 00 upstream, and no span exported", async () => {
    const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const upstream = parseTraceparent(
      (await send({ traceparent: `00-${traceId}-1111111111111111-00` })).traceparent,
    );
    assert.equal(upstream?.traceId, traceId);
    assert.equal(upstream?.sampled, false);
    // A sampled request after it, to know the batch that would have held it has gone out.
    const marker = parseTraceparent((await send({})).traceparent)!;
    await until(() => spanOf(marker.traceId) !== undefined, 10_000, 'a later span exported');
    assert.equal(spanOf(traceId), undefined);
  });
});
