import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** MAIN is the CLI entry point, run as a real process by these tests. */
export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** PorticoProcess is `portico` running as a child process, with its JSON log lines collected. */
export class PorticoProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  #waiters: (() => void)[] = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      partial += text;
      const complete = partial.split('\n');
      partial = complete.pop()!;
      for (const line of complete) {
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          this.lines.push({ msg: line });
        }
      }
      for (const waiter of this.#waiters.splice(0)) waiter();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /**
   * waitForLog resolves with the first log line matching `predicate`; after `timeoutMs` it kills the
   * process and throws with what the process did print.
   */
  async waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) {
        // A process that never said what the test waits for is of no more use; left running, its pipes
        // would keep the test file from ever ending.
        this.kill();
        throw new Error(
          `no matching log line; got:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}\n${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** listeningPort waits for the first "listening" line and returns its port. */
  async listeningPort(): Promise<number> {
    const line = await this.waitForLog(
      (l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('listening on'),
    );
    return line['port'] as number;
  }

  /** rssBytes reads the process's resident set size from /proc. */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** runPortico runs the CLI to completion and returns its exit code and output. */
export function runPortico(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => {
      stdout += t;
    });
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
