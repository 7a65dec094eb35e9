/** Argument errors: one sentence on stderr, exit 2, and with --json one JSON document on stdout. */
import { describe, expect, it } from 'vitest';
import { runCli, tempDir, writeProject } from './helpers.js';

describe('command-line errors', () => {
  const cases: [string[], RegExp][] = [
    [['migrate', '--wait', 'abc'], /^error: option '--wait <seconds>' argument 'abc' is invalid\. expected a number of seconds, e\.g\. --wait 30\.$/],
    [['migrate', '--wait', '-5'], /^error: option '--wait <seconds>' argument '-5' is invalid/],
    [['frobnicate'], /^error: unknown command 'frobnicate'$/],
    [['migrate', '--bogus'], /^error: unknown option '--bogus'$/],
    [['stamp', 'core'], /^error: missing required argument 'migration'$/],
    [['--url', 'notaurl', 'status'], /^error: --url is not a URL; use a postgresql:\/\/user:password@host:5432\/database URL, or unset it to use the embedded database\.$/],
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

  it('a prisma.config.ts that fails to load: its first line, no require stack', async () => {
    const t = tempDir();
    try {
      writeProject(t.dir, { files: { 'prisma.config.ts': 'import x from "./nope";\nexport default { datasource: { url: x } };\n' } });
      const r = await runCli(t.dir, ['status']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toBe(
        'error: Cannot load prisma.config.ts, which may name the schema and migrations folder: Cannot find module \'./nope\'; fix the file, or set "coreSchema" and "coreMigrations" in orchestrate.config.json (and pass --url or set DATABASE_URL) to do without it.',
      );
    } finally {
      t.cleanup();
    }
  });

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
