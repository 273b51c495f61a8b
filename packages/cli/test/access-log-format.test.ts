import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestOutcome } from '@portico/proxy';
import { COMBINED, compileTemplate, consoleLine, escapeLogValue, timeLocal } from 'portico';

const NOW = new Date('2026-12-03T06:45:12.345Z');
const OUTCOME: RequestOutcome = {
  client: '203.0.113.7',
  requestId: 'abc-1',
  method: 'GET',
  host: 'shop.example',
  path: '/cart',
  query: 'id=7&x=1',
  status: 200,
  route: 'shop',
  service: 'cart',
  endpoint: '10.0.0.5:8080',
  errorCode: undefined,
  phase: 'complete',
  durationMs: 12.4,
  connectMs: 0,
  ttfbMs: 9,
  requestBytes: 0,
  responseBytes: 5120,
  protocol: 'HTTP/1.1',
  userAgent: 'curl/8.5.0',
  referer: 'https://shop.example/',
  listener: 'web',
  trace: {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    parentSpanId: undefined,
    sampled: true,
  },
  tls: { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', sni: 'shop.example' },
};

const render = (template: string, outcome: RequestOutcome = OUTCOME) => {
  const compiled = compileTemplate(template);
  if (typeof compiled === 'string') throw new Error(compiled);
  return compiled(outcome, NOW);
};

describe('access log formats', () => {
  it("writes nginx's combined format field for field", () => {
    assert.equal(
      render(COMBINED),
      '203.0.113.7 - - [03/Dec/2026:06:45:12 +0000] "GET /cart?id=7&x=1 HTTP/1.1" 200 5120 "https://shop.example/" "curl/8.5.0"',
    );
    assert.equal(timeLocal(new Date('2026-01-05T00:00:09Z')), '05/Jan/2026:00:00:09 +0000');
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx-style ${name} variables, not a JS template.
  it('renders every template variable, $name and ${name}, and - for what is missing', () => {
    assert.equal(
      render(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx-style ${name} variables, not a JS template.
        '${remote_addr}|$request_method|$request_uri|$uri|$args|$host|$server_protocol|$status|$request_time',
      ),
      '203.0.113.7|GET|/cart?id=7&x=1|/cart|id=7&x=1|shop.example|HTTP/1.1|200|0.012',
    );
    assert.equal(
      render(
        '$upstream_addr $upstream_connect_time $upstream_header_time $request_id $ssl_protocol $ssl_cipher $ssl_server_name',
      ),
      '10.0.0.5:8080 0.000 0.009 abc-1 TLSv1.3 TLS_AES_128_GCM_SHA256 shop.example',
    );
    assert.equal(
      render(
        '$portico_route $portico_service $portico_listener $portico_error $portico_phase $time_iso8601 $msec $trace_id $span_id',
      ),
      'shop cart web - complete 2026-12-03T06:45:12.345Z 1796280312.345 4bf92f3577b34da6a3ce929d0e0e4736 00f067aa0ba902b7',
    );
    const bare: RequestOutcome = {
      ...OUTCOME,
      method: undefined,
      path: undefined,
      query: undefined,
      tls: undefined,
      endpoint: undefined,
      ttfbMs: -1,
      connectMs: -1,
      userAgent: undefined,
    };
    assert.equal(
      render('$request|$uri|$ssl_protocol|$upstream_addr|$upstream_header_time|$http_user_agent', bare),
      '-|-|-|-|-|-',
    );
  });

  it('escapes what a client controls, so no request can forge a line or a field', () => {
    const hostile: RequestOutcome = {
      ...OUTCOME,
      userAgent: 'x" 200 1 "\r\n127.0.0.1 - - [forged',
      referer: 'back\\slash\ttab',
      path: '/caf\u00e9',
    };
    const line = render(COMBINED, hostile);
    assert.equal(line.split('\n').length, 1);
    assert.match(line, /"x\\x22 200 1 \\x22\\x0D\\x0A127\.0\.0\.1 - - \[forged"$/);
    assert.match(line, /"back\\x5Cslash\\x09tab"/);
    assert.match(line, /GET \/caf\\xE9\?/);
    assert.equal(escapeLogValue('\u{1F600}'), '\\xF0\\x9F\\x98\\x80', 'beyond Latin-1: its UTF-8 bytes');
    assert.equal(escapeLogValue('plain'), 'plain');
  });

  it('refuses an unknown variable or a line break, naming it', () => {
    const unknown = compileTemplate('$remote_addr $remote_user');
    assert.equal(typeof unknown, 'string');
    assert.match(unknown as string, /unknown variable \$remote_user .*known: \$remote_addr/);
    assert.match(compileTemplate('$status\n$status') as string, /one line/);
  });

  it('gives a person a short line, coloured by status class on a terminal', () => {
    assert.equal(
      consoleLine(OUTCOME, NOW, false),
      '06:45:12.345 GET shop.example/cart?id=7&x=1 200 12 ms shop -> 10.0.0.5:8080',
    );
    const failed = consoleLine({ ...OUTCOME, status: 502, errorCode: 'PORTICO_UPSTREAM_CONNECT' }, NOW, true);
    assert.equal(
      failed,
      '06:45:12.345 GET shop.example/cart?id=7&x=1 \x1b[31m502\x1b[0m 12 ms shop -> 10.0.0.5:8080 PORTICO_UPSTREAM_CONNECT',
    );
  });
});
