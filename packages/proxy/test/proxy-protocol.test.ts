import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeProxyHeader, parseProxyHeader } from '@portico/proxy';

/** Byte-level fixtures written from haproxy's doc/proxy-protocol.txt (sections 2.1 and 2.2). */
const V2_SIG = '0d0a0d0a000d0a515549540a';
const V2_TCP4 = `${V2_SIG}2111000c` + 'c0000201' + 'c6336402' + 'd431' + '01bb'; // 192.0.2.1:54321 -> 198.51.100.2:443
const V2_TCP6 =
  `${V2_SIG}21210024` +
  '20010db8000000000000000000000001' +
  '20010db8000000000000000000000002' +
  '1f90' +
  '0050';
const V2_LOCAL = `${V2_SIG}20000000`;

describe('PROXY protocol', () => {
  it('parses v1 TCP4, TCP6 and UNKNOWN, and says where the payload starts', () => {
    const v1 = Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 54321 443\r\nGET / HTTP/1.1\r\n', 'latin1');
    const parsed = parseProxyHeader(v1);
    assert.equal(parsed.kind, 'header');
    if (parsed.kind !== 'header') return;
    assert.deepEqual(parsed.header, {
      local: false,
      sourceAddress: '192.0.2.1',
      sourcePort: 54321,
      destinationAddress: '198.51.100.2',
      destinationPort: 443,
    });
    assert.equal(v1.subarray(parsed.length).toString(), 'GET / HTTP/1.1\r\n');
    const v6 = parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 8080 80\r\n'));
    assert.equal(v6.kind === 'header' && v6.header.sourceAddress, '2001:db8::1');
    const unknown = parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'));
    assert.equal(unknown.kind === 'header' && unknown.header.local, true);
  });

  it('parses v2 TCP over IPv4 and IPv6, and LOCAL', () => {
    const four = parseProxyHeader(Buffer.from(V2_TCP4, 'hex'));
    assert.deepEqual(four.kind === 'header' && four.header, {
      local: false,
      sourceAddress: '192.0.2.1',
      sourcePort: 54321,
      destinationAddress: '198.51.100.2',
      destinationPort: 443,
    });
    assert.equal(four.kind === 'header' && four.length, 28);
    const six = parseProxyHeader(Buffer.from(V2_TCP6, 'hex'));
    assert.deepEqual(six.kind === 'header' && six.header, {
      local: false,
      sourceAddress: '2001:db8::1',
      sourcePort: 8080,
      destinationAddress: '2001:db8::2',
      destinationPort: 80,
    });
    const local = parseProxyHeader(Buffer.from(V2_LOCAL, 'hex'));
    assert.equal(local.kind === 'header' && local.header.local, true);
  });

  it('asks for more bytes on a partial header, byte by byte', () => {
    for (const full of [Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), Buffer.from(V2_TCP4, 'hex')]) {
      for (let n = 1; n < full.length; n++)
        assert.equal(parseProxyHeader(full.subarray(0, n)).kind, 'more', `${n} bytes`);
      assert.equal(parseProxyHeader(full).kind, 'header');
    }
  });

  it('refuses malformed headers', () => {
    for (const bad of [
      'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n',
      'PROXY TCP4 1.2.3.999 5.6.7.8 1 2\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n',
      'PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n',
      'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n',
      'PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n',
      `PROXY TCP4 ${'1'.repeat(120)}\r\n`,
      'GET / HTTP/1.1\r\n',
    ]) {
      assert.equal(parseProxyHeader(Buffer.from(bad)).kind, 'invalid', bad);
    }
    const wrongVersion = Buffer.from(V2_TCP4, 'hex');
    wrongVersion[12] = 0x31;
    assert.equal(parseProxyHeader(wrongVersion).kind, 'invalid');
    const shortFamily = Buffer.from(`${V2_SIG}2111000401020304`, 'hex');
    assert.equal(parseProxyHeader(shortFamily).kind, 'invalid');
  });

  it('emits v1 and v2 exactly as the specification lays them out', () => {
    const facts = {
      sourceAddress: '192.0.2.1',
      sourcePort: 54321,
      destinationAddress: '198.51.100.2',
      destinationPort: 443,
    };
    assert.equal(
      encodeProxyHeader('v1', facts).toString(),
      'PROXY TCP4 192.0.2.1 198.51.100.2 54321 443\r\n',
    );
    assert.equal(encodeProxyHeader('v2', facts).toString('hex'), V2_TCP4);
    const six = {
      sourceAddress: '2001:db8::1',
      sourcePort: 8080,
      destinationAddress: '2001:db8::2',
      destinationPort: 80,
    };
    assert.equal(encodeProxyHeader('v2', six).toString('hex'), V2_TCP6);
    assert.equal(
      encodeProxyHeader('v1', { ...facts, sourceAddress: '::ffff:192.0.2.1' }).toString(),
      'PROXY TCP4 192.0.2.1 198.51.100.2 54321 443\r\n',
    );
    for (const version of ['v1', 'v2'] as const) {
      const round = parseProxyHeader(encodeProxyHeader(version, six));
      assert.deepEqual(round.kind === 'header' && round.header, { local: false, ...six });
    }
  });
});
