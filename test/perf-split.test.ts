import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { categoryOf } from '../bench/perf-split.ts';

// The perf split (bench/perf-split.ts) is what docs/benchmarks.md explains each performance gap with:
// a symbol in the wrong category would move time between "the kernel", "OpenSSL" and "the runtime".
describe('perf split: where a sampled symbol counts', () => {
  const cases: [string, string, string][] = [
    ['[kernel.kallsyms]', 'tcp_sendmsg_locked', 'kernel'],
    ['[kernel.kallsyms]', 'pvm_irq_enable', 'kernel'],
    ['libcrypto.so.3', 'OPENSSL_cleanse', 'crypto'],
    ['libssl.so.3', 'SSL_do_handshake', 'crypto'],
    ['node', 'sha512_block_data_order_avx2', 'crypto'], // Node links OpenSSL statically
    ['node', 'x25519_fe64_sqr', 'crypto'],
    ['node', 'fe_mul', 'crypto'],
    ['node', '__ecp_nistz256_mul_montx', 'crypto'],
    ['node', 'ossl_fnv1a_hash', 'crypto'],
    ['node', 'Builtins_KeyedLoadIC_Megamorphic', 'code'],
    ['[JIT] tid 4242', '0x00007fd6bc1498c1', 'code'],
    ['node', 'v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot>', 'gc'],
    ['node', 'v8::internal::ConcurrentMarking::RunMajor', 'gc'],
    ['node', 'node::StreamBase::WriteBuffer', 'runtime'],
    ['node', 'uv__io_poll', 'runtime'],
    ['node', 'v8::internal::String::WriteToFlat2<unsigned char>', 'runtime'],
    ['libc.so.6', '_int_malloc', 'libc'],
    ['nginx', 'ngx_http_parse_header_line', 'code'],
    ['haproxy', 'process_stream', 'code'],
    ['libpcre2-8.so.0', 'pcre2_match_8', 'code'],
    ['libsomething.so', 'f', 'other'],
  ];
  for (const [dso, symbol, expected] of cases) {
    it(`${dso} ${symbol} -> ${expected}`, () => {
      assert.equal(categoryOf(dso, symbol, ['nginx', 'haproxy']), expected);
    });
  }
});
