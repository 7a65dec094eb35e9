/** Argument errors: one sentence on stderr, exit 2, and with --json one JSON document on stdout. */
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers.js';

describe('command-line errors', () => {
  const cases: [string[], RegExp][] = [
    [['migrate', '--wait', 'abc'], /^error: option '--wait <seconds>' argument 'abc' is invalid\. expected a number of seconds, e\.g\. --wait 30\.$/],
    [['migrate', '--wait', '-5'], /^error: option '--wait <seconds>' argument '-5' is invalid/],
    [['frobnicate'], /^error: unknown command 'frobnicate'$/],
    [['migrate', '--bogus'], /^error: unknown option '--bogus'$/],
    [['stamp', 'core'], /^error: missing required argument 'migration'$/],
    [['--cwd', '/nonexistent/project', 'status'], /^error: --cwd \/nonexistent\/project: no such directory \(\/nonexistent\/project\); point it at the project root/],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(' ')}`, async () => {
      const t = tempDir();
      try {
        const plain = await runCli(t.dir, args);
        expect(plain.exitCode).toBe(2);
        expect(plain.stdout).toBe('');
        expect(plain.stderr).toMatch(message);
        expect(plain.stderr.split('\n')).toHaveLength(1);
        const json = await runCli(t.dir, ['--json', ...args]);
        expect(json.exitCode).toBe(2);
        const doc = JSON.parse(json.stdout) as { error: { message: string; exitCode: number } };
        expect(doc.error.exitCode).toBe(2);
        expect(doc.error.message.length).toBeGreaterThan(10);
      } finally {
        t.cleanup();
      }
    });
  }

  it('--json --version prints the version as JSON', async () => {
    const t = tempDir();
    try {
      const r = await runCli(t.dir, ['--json', '--version']);
      expect(JSON.parse(r.stdout)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    } finally {
      t.cleanup();
    }
  });
});
