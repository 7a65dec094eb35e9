/** Help: examples, environment, global flags and exit codes for every command; no command is an error. */
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

const COMMANDS = ['revision', 'migrate', 'upgrade', 'downgrade', 'status', 'history', 'current', 'stamp', 'create', 'init', 'generate', 'check', 'diff', 'debug'];

describe('help', () => {
  it('every command lists examples, the environment it reads, the global flags and the exit codes', async () => {
    const dir = tempDir('orch-help-');
    try {
      for (const command of COMMANDS) {
        const r = await runCli(dir.dir, [command, '--help']);
        expect(r.exitCode, command).toBe(0);
        const examples = r.stdout.slice(r.stdout.indexOf('Examples:')).split('\n\n')[0]!.split('\n').slice(1);
        expect(examples.length, command).toBeGreaterThanOrEqual(2);
        for (const e of examples) expect(e, command).toMatch(/^ {2}\$ (\w+=\S+ )?orchestrate /);
        expect(r.stdout, command).toMatch(/\nEnvironment:\n(\s+(DATABASE_URL|APP_EXTENSIONS|ORCHESTRATE_\w+|PRISMA_\w+|NO_COLOR) .*\n)+/);
        expect(r.stdout, command).toMatch(/\nGlobal Options:\n[\s\S]*--cwd <dir>[\s\S]*--extensions <list>[\s\S]*--url <url>[\s\S]*--json/);
        expect(r.stdout, command).toContain('Exit codes:\n  0  success\n  1  database or runtime error\n  2  usage or input error');
        // --all's note about downgrade belongs to downgrade only.
        if (command !== 'downgrade') expect(r.stdout, command).not.toMatch(/--target base/);
      }
      expect((await runCli(dir.dir, ['migrate', '--help'])).stdout).toMatch(/ORCHESTRATE_WAIT[\s\S]*ORCHESTRATE_STRICT/);
      expect((await runCli(dir.dir, ['init', '--help'])).stdout).not.toContain('--skip-model');
    } finally {
      dir.cleanup();
    }
  }, 60_000);

  it('orchestrate with no arguments prints the help on stderr and exits 2', async () => {
    const dir = tempDir('orch-help-');
    try {
      const r = await runCli(dir.dir, []);
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^Usage: orchestrate \[options\] \[command\]/);
      expect(r.stderr).toContain('Exit codes:');
    } finally {
      dir.cleanup();
    }
  });
});
