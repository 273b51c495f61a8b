/**
 * profile-summary: where a `node --cpu-prof` profile spent its time, summed by a script rather than by hand.
 *
 *   node bench/profile-summary.ts <file.cpuprofile> [--top 25] [--json]
 *
 * Prints self time per source file (Portico's own files by path, Node's internals as `node:...`, native
 * and GC as their V8 names) and the heaviest functions, each as a share of all samples. Compare two
 * profiles (before and after a change) by running it on each.
 */
import { readFileSync } from 'node:fs';
import { option } from './options.ts';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: node bench/profile-summary.ts <file.cpuprofile> [--top N] [--json]');
  process.exit(2);
}
const TOP = option('top', 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

/** where names a frame's source: a path under packages/ or bench/, a node: module, or the V8 name. */
function where(url: string, name: string): string {
  if (url === '') return `(${name || 'anonymous'})`;
  const ours = /\/((?:packages|bench)\/.*)$/.exec(url);
  if (ours !== null) return ours[1]!;
  const dep = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep !== null) return `dep:${dep[1]}`;
  return url.startsWith('node:') ? url : url.replace(/^file:\/\//, '');
}

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = Math.max(0, profile.timeDeltas[i] ?? 0);
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  total += dt;
});
const files = new Map<string, number>();
const functions = new Map<string, number>();
for (const [id, us] of selfUs) {
  const frame = byId.get(id)!.callFrame;
  const source = where(frame.url, frame.functionName);
  files.set(source, (files.get(source) ?? 0) + us);
  const fn = `${frame.functionName || '(anonymous)'} ${source}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`;
  functions.set(fn, (functions.get(fn) ?? 0) + us);
}
const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
const share = (us: number) => `${((100 * us) / total).toFixed(1)}%`;
if (process.argv.includes('--json')) {
  console.log(
    JSON.stringify({
      totalMs: total / 1000,
      files: Object.fromEntries(sorted(files).map(([k, v]) => [k, v / total])),
      functions: Object.fromEntries(
        sorted(functions)
          .slice(0, TOP)
          .map(([k, v]) => [k, v / total]),
      ),
    }),
  );
} else {
  // Totals per group: what Portico's own code costs beside Node's and the engine's.
  const groups = new Map<string, number>();
  for (const [source, us] of files) {
    const group = source.startsWith('packages/')
      ? `packages/${source.split('/')[1]}`
      : source.startsWith('node:')
        ? 'node: internals'
        : source.startsWith('dep:')
          ? 'dependencies'
          : source.startsWith('(')
            ? source
            : 'other';
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n`);
  console.log('| group | self |\n|---|---:|');
  for (const [g, us] of sorted(groups)) if (us / total >= 0.001) console.log(`| ${g} | ${share(us)} |`);
  console.log('\n| file | self |\n|---|---:|');
  for (const [f, us] of sorted(files).slice(0, TOP)) console.log(`| ${f} | ${share(us)} |`);
  console.log('\n| function | self |\n|---|---:|');
  for (const [f, us] of sorted(functions).slice(0, TOP)) console.log(`| ${f} | ${share(us)} |`);
}
