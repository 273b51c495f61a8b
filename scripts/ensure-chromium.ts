/**
 * Makes sure Debian's Chromium is installed for the dashboard's browser test (`test/dashboard.test.ts`):
 * nothing to do when /usr/bin/chromium exists; as root on Debian, installs it with apt-get (about 20 s);
 * otherwise stops with what to run. The test never downloads a browser of its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

if (!existsSync(CHROMIUM)) {
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    console.error(
      `The dashboard test needs Chromium at ${CHROMIUM}: run "sudo apt-get install -y chromium" first.`,
    );
    process.exit(1);
  }
  console.log('installing Debian chromium for the dashboard browser test...');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}
