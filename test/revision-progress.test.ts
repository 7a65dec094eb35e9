/**
 * revision's progress (stderr, one line per owner as it is diffed), its summary (stdout, compact
 * at 50+ owners) and its data-loss warnings (stderr, and `warnings` in --json).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript shared with the benchmarks
import { writeSyntheticProject } from '../bench/synthetic.mjs';
import { BILLING, makeProject, useCleanups } from './fixtures.js';
import { CLI, runCli, tempDir } from './helpers.js';
import { reviseInProcess } from './in-process.js';

describe('revision progress', () => {
  const onCleanup = useCleanups();

  it('shows its first line within 1 s on 50 extensions, one line per owner, then a compact summary', { timeout: 60_000 }, async () => {
    const t = tempDir('orch-progress-');
    onCleanup(t.cleanup);
    const exts: string[] = writeSyntheticProject(t.dir, 50);
    const env = { APP_EXTENSIONS: exts.join(','), DATABASE_URL: undefined, NO_COLOR: '1' };
    // What starting the CLI at all costs right now (the machine may be busy): loading the command.
    const t0 = performance.now();
    await execa(process.execPath, [CLI, 'revision', '--help'], { env });
    const startup = performance.now() - t0;

    const started = performance.now();
    let first: number | null = null;
    const child = execa(process.execPath, [CLI, 'revision', '--all', '-m', 'init'], { cwd: t.dir, env, reject: false, stdin: 'ignore' });
    child.stderr!.once('data', () => (first = performance.now() - started));
    const r = await child;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(first).not.toBeNull();
    const total = performance.now() - started;
    // Within 1 s past what loading the CLI itself takes on this machine at this moment (about
    // 0.4 s on an idle 2-core machine); on a machine busy with other tests, within the first
    // third of the run, which still means before the diffs rather than after them.
    expect(first!, `first line after ${first} ms of ${total} ms; the CLI alone starts in ${startup} ms`).toBeLessThan(Math.max(1000, startup + 1000, total / 3));

    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('Diffing 51 owners (51 changed since their latest migration)...');
    expect(lines[1]).toMatch(/^\[ 1\/51\] core: \d+ statements \(\d+ ms\)$/);
    expect(lines[51]).toMatch(/^\[51\/51\] ext50: \d+ statements \(\d+ ms\)$/);
    const out = r.stdout.split('\n');
    expect(out[0]).toBe('51 owners: 51 new migrations, 0 unchanged, 0 data-loss warnings.');
    expect(out).toHaveLength(52);

    // One changed owner: the summary names only it.
    const schema = path.join(t.dir, 'extensions/ext07/schema.prisma');
    const { readFileSync } = await import('node:fs');
    writeFileSync(schema, readFileSync(schema, 'utf8') + '\nmodel Ext07Note {\n  id   Int    @id @default(autoincrement())\n  body String\n\n  @@map("ext07_notes")\n}\n');
    const again = await runCli(t.dir, ['revision', '--all', '-m', 'notes'], env);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^51 owners: 1 new migration, 50 unchanged, 0 data-loss warnings\.\next07: created extensions\/ext07\/migrations\/\d{14}_notes \(1 statement\)$/);
    expect(again.stderr).toMatch(/^\[ 8\/51\] ext07: 1 statement \(\d+ ms\)$/m);
    expect(again.stderr).toMatch(/^\[ 9\/51\] ext08: no changes \(\d+ ms\)$/m);
  });

  it('warns about each statement that loses data, on stderr and under warnings in --json', { timeout: 60_000 }, async () => {
    const REFUND = '\nmodel Refund {\n  id     Int @id @default(autoincrement())\n  amount Int\n\n  @@map("billing_refunds")\n}\n';
    const dir = makeProject(onCleanup, { extensions: { billing: { schema: BILLING.replace('  userId Int\n', '  userId Int\n  note   String?\n  total  Int?\n') + REFUND } } });
    const env = { APP_EXTENSIONS: 'billing' };
    await reviseInProcess(dir, ['billing'], { name: 'init' });
    writeFileSync(path.join(dir, 'extensions/billing/schema.prisma'), BILLING.replace('  userId Int\n', '  userId Int\n  total  BigInt\n'));
    const r = await runCli(dir, ['revision', '--all', '-m', 'slim', '--json'], env);
    expect(r.exitCode, r.stderr).toBe(0);
    const warnings = JSON.parse(r.stdout).warnings as { code: string; owner: string; kind: string; message: string }[];
    expect(warnings.map((w) => [w.owner, w.kind, w.message])).toEqual([
      ['billing', 'drop-column', 'You are about to drop the column `note` on the `billing_invoices` table. All the data in the column will be lost.'],
      ['billing', 'set-not-null', 'Made the column `total` on table `billing_invoices` required. This step will fail if there are existing NULL values in that column.'],
      ['billing', 'alter-type', 'You are about to alter the column `total` on the `billing_invoices` table. The data in that column could be lost. The data in that column will be cast from `INTEGER` to `BIGINT`.'],
      ['billing', 'drop-table', 'You are about to drop the `billing_refunds` table. If the table is not empty, all the data it contains will be lost.'],
    ]);
    for (const w of warnings) expect(r.stderr.split('\n')).toContain(`warning: billing: ${w.message}`);
  });
});
