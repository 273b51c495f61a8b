import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { runPortico } from './helpers/portico-process.ts';

/** The README's "Use it" and `portico --help` describe the same commands, and say the same of them. */
describe('portico --help and the README agree', () => {
  it('every command --help lists is in the README, and the demo starts three backends in both', async () => {
    const help = await runPortico(['--help']);
    assert.equal(help.code, 0);
    const commands = [...help.stdout.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
    assert.ok(commands.length >= 9, commands.join(', '));
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const use = readme.slice(readme.indexOf('## Use it'), readme.indexOf('A config file:'));
    for (const command of commands)
      assert.match(
        use,
        new RegExp(`portico ${command}\\b|\\| ${command}\\b`),
        `README's "Use it" shows portico ${command}`,
      );
    assert.match(help.stdout, /start three demo backends/);
    assert.match(readme, /starts three small demo backends/);
  });
});
