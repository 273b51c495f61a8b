/**
 * perf-split: where a proxy's CPU time goes, for every proxy alike, from Linux `perf` samples.
 *
 * `node --cpu-prof` sees only JavaScript stacks: the kernel's share, OpenSSL's, V8's garbage collector
 * and Node's C++ show up there as "(program)" or inside one native call. `perf record -e cpu-clock`
 * samples the whole process (user and kernel) whatever it runs, so nginx, HAProxy and Portico can be
 * split the same way. bench/proxy/run.ts records each measured run with `--perf` and prints the split
 * as CPU microseconds per request per category; this file holds the recording and the categories.
 *
 *   node bench/perf-split.ts <perf.data> [--top 30]   # the split and the heaviest symbols of one recording
 *
 * Needs `perf` (Debian: linux-perf) and the right to sample the processes (root, or
 * kernel.perf_event_paranoid <= 1). Software `cpu-clock` sampling: no hardware counters needed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { option } from './options.ts';

/** CATEGORIES are the columns of a split, in the order printed. */
export const CATEGORIES = ['kernel', 'crypto', 'code', 'runtime', 'gc', 'libc', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];

/** CATEGORY_TITLES say what each category holds. */
export const CATEGORY_TITLES: Record<Category, string> = {
  kernel: 'kernel: system calls, TCP/IP on loopback, scheduling',
  crypto: 'OpenSSL: handshakes, record encryption',
  code: "the proxy's own code: nginx or HAProxy's binary; for Node the JavaScript (JIT code and V8 builtins)",
  runtime: 'runtime: V8 and Node C++ outside GC (libuv, stream wraps, object creation, IC misses)',
  gc: "V8's garbage collector",
  libc: 'libc: malloc, free, memcpy',
  other: 'anything else (other libraries, unresolved)',
};

/** Split is the share of samples (0-1) per category, the number of samples behind it, and the symbols. */
export interface Split {
  readonly shares: Record<Category, number>;
  readonly samples: number;
  /** symbols are every sampled symbol, heaviest first: share, category, dso and symbol. */
  readonly symbols: { share: number; category: Category; dso: string; symbol: string }[];
}

const OPENSSL_DSO = /^lib(crypto|ssl)\.so/;
/** OPENSSL_SYMBOL matches OpenSSL's functions when they are linked into a binary (Node links it statically). */
const OPENSSL_SYMBOL =
  /^_*(EVP_|SSL_|ssl|tls1|tls13|tls_|ossl_|OSSL_|BN_|bn_|EC_|ec_|ecp_|ECDSA|ecdsa|sha\d|SHA\d|aesni|aes_|AES_|gcm|GCM|ChaCha|chacha|Poly1305|poly1305|CRYPTO_|OPENSSL_|RSA_|rsa_|X509|x509|ASN1|asn1|HMAC|hmac|RAND_|rand_|ERR_|OBJ_|BIO_|PEM_|d2i_|i2d_|x25519|X25519|curve25519|EVP|evp_|dtls|DH_|dh_|ENGINE_|OPENSSL|KDF|kdf_|HKDF|hkdf|ctr_|cbc_|md_|lh_|OPENSSL_sk|sk_|OSSL|fe_|fe51_|ge_|cmov$|x448|sha512|sha256|keccak|ecx_|ecp_)/;
const GC_SYMBOL =
  /v8::internal::(Heap|Scaveng|MarkCompact|MinorMarkCompact|Sweeper|Marking|Evacuat|ConcurrentMarking|IncrementalMarking|GCTracer|PagedSpace|NewSpace|SemiSpace|RememberedSet|MemoryAllocator|MemoryChunk|LargeObjectSpace|.*Visitor|.*Sweep|.*Compactor)/;
const JIT_DSO = /^(\[JIT\]|perf-\d+\.map|\[unknown\]|\/\/anon|\[anon)/;

/** categoryOf puts one sampled symbol of one binary (dso) in its category. */
export function categoryOf(dso: string, symbol: string, binaries: readonly string[]): Category {
  if (dso === '[kernel.kallsyms]' || dso.startsWith('[kernel') || dso === '[vdso]') return 'kernel';
  if (OPENSSL_DSO.test(dso)) return 'crypto';
  if (dso.startsWith('libc.so') || dso.startsWith('libc-') || dso.startsWith('libm.so')) return 'libc';
  if (JIT_DSO.test(dso)) return 'code';
  if (dso === 'node') {
    if (symbol.startsWith('Builtins_')) return 'code';
    if (OPENSSL_SYMBOL.test(symbol)) return 'crypto';
    if (GC_SYMBOL.test(symbol)) return 'gc';
    return 'runtime';
  }
  if (binaries.includes(dso)) return 'code';
  if (dso.startsWith('libpcre') || dso.startsWith('libz.so') || dso.startsWith('liblua')) return 'code';
  return 'other';
}

/**
 * startPerf samples `pids` (every thread of each) at `hz` samples per second into `file` until the
 * returned process gets SIGINT (see stopPerf).
 */
export function startPerf(pids: readonly number[], file: string, hz = 2999): ChildProcess {
  // PERF_RECORD_ARGS adds arguments to `perf record` (`-g` for kernel call chains, to read with perf report).
  const extra = (process.env['PERF_RECORD_ARGS'] ?? '').split(' ').filter(Boolean);
  return spawn(
    'perf',
    ['record', '-q', '-e', 'cpu-clock', '-F', String(hz), ...extra, '-p', pids.join(','), '-o', file],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

/** stopPerf ends a recording started by startPerf and waits (at most 20 s) for perf to write it. */
export async function stopPerf(perf: ChildProcess): Promise<void> {
  if (perf.exitCode !== null) return;
  const exited = new Promise((resolve) => perf.once('exit', resolve));
  perf.kill('SIGINT');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
}

/** readSplit reads a recording: the share of each category, and the heaviest symbols. */
export function readSplit(file: string, binaries: readonly string[] = ['nginx', 'haproxy']): Split {
  const text = execFileSync(
    'perf',
    ['report', '-i', file, '--stdio', '-n', '--sort', 'dso,sym', '-t', '\t', '--percent-limit', '0', '-q'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const shares = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  const symbols: Split['symbols'] = [];
  let samples = 0;
  for (const line of text.split('\n')) {
    const [overhead, count, dso, symbol] = line.split('\t').map((field) => field.trim());
    if (overhead === undefined || dso === undefined || !overhead.endsWith('%')) continue;
    const share = Number(overhead.slice(0, -1)) / 100;
    const name = (symbol ?? '').replace(/^\[[.k]\]\s*/, '');
    const category = categoryOf(dso, name, binaries);
    shares[category] += share;
    samples += Number(count);
    symbols.push({ share, category, dso, symbol: name });
  }
  symbols.sort((a, b) => b.share - a.share);
  return { shares, samples, symbols };
}

if (import.meta.main) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node bench/perf-split.ts <perf.data> [--top 30]');
    process.exit(2);
  }
  const count = option('top', 30);
  const split = readSplit(file);
  console.log(`${split.samples} samples\n\n| category | share |\n|---|---:|`);
  for (const c of CATEGORIES) console.log(`| ${c} | ${(split.shares[c] * 100).toFixed(1)}% |`);
  console.log('\n| share | category | binary | symbol |\n|---:|---|---|---|');
  for (const t of split.symbols.slice(0, count)) {
    console.log(`| ${(t.share * 100).toFixed(2)}% | ${t.category} | ${t.dso} | ${t.symbol.slice(0, 90)} |`);
  }
}
