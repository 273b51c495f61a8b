/**
 * Makes sure the Debian programs the tests run for real are installed: Chromium for the dashboard's
 * browser test (`test/dashboard.test.ts`), redis-server for the global rate limit tests
 * (`packages/cli/test/global-rate-limit.test.ts`) and pebble, Let's Encrypt's test CA, for the ACME
 * tests (`packages/cli/test/acme.test.ts`). Nothing to do when all exist; as root on Debian,
 * installs what is missing with apt-get (about 20 s); otherwise stops with what to run. No test downloads
 * a browser or a server of its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** TOOLS maps each program the tests run to the Debian package that installs it. */
const TOOLS: Record<string, string> = {
  '/usr/bin/chromium': 'chromium',
  '/usr/bin/redis-server': 'redis-server',
  '/usr/bin/pebble': 'pebble',
};

const missing = Object.entries(TOOLS)
  .filter(([path]) => !existsSync(path))
  .map(([, pkg]) => pkg);
if (missing.length > 0) {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    console.error(
      `The tests need Debian's ${missing.join(', ')}: run "sudo apt-get install -y ${missing.join(' ')}" first.`,
    );
    process.exit(1);
  }
  console.log(`installing Debian ${missing.join(', ')} for the tests...`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}
