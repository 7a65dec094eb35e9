/**
 * Removing an enum value from the middle, then rolling back, gives the enum its order back:
 * down.sql re-adds the value at its place (`ADD VALUE ... BEFORE/AFTER`), not at the end.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeProject, useCleanups } from './fixtures.js';
import { createDatabase, query, runCli } from './helpers.js';

const onCleanup = useCleanups();

const SCHEMA = (values: string[]) => `enum Status {
${values.map((v) => `  ${v}`).join('\n')}

  @@map("invoice_status")
}

model Invoice {
  id     Int      @id @default(autoincrement())
  status Status   @default(DRAFT)
  tags   Status[]
}
`;

const range = async (url: string) => (await query<{ v: string }>(url, `SELECT unnest(enum_range(NULL::invoice_status))::text AS v`)).map((r) => r.v);

describe('rolling back the removal of enum values', () => {
  it('restores the original order of the enum', async () => {
    const db = await createDatabase();
    onCleanup(db.drop);
    const original = ['DRAFT', 'SENT', 'PAID @map("paid")', 'VOID'];
    const dir = makeProject(onCleanup, { core: SCHEMA(original) });
    const env = { DATABASE_URL: db.url };
    const schemaFile = path.join(dir, 'prisma/schema.prisma');
    expect((await runCli(dir, ['revision', '--core', '-m', 'init'], env)).exitCode).toBe(0);
    expect((await runCli(dir, ['migrate'], env)).exitCode).toBe(0);
    expect(await range(db.url)).toEqual(['DRAFT', 'SENT', 'paid', 'VOID']);

    writeFileSync(schemaFile, readFileSync(schemaFile, 'utf8').replace(SCHEMA(original), SCHEMA(['DRAFT', 'PAID @map("paid")'])));
    const revision = await runCli(dir, ['revision', '--core', '-m', 'drop_values'], env);
    expect(revision.exitCode, revision.stderr).toBe(0);
    const folder = readdirSync(path.join(dir, 'prisma/migrations')).find((n) => n.endsWith('_drop_values'))!;
    const down = readFileSync(path.join(dir, 'prisma/migrations', folder, 'down.sql'), 'utf8');
    expect(down).toContain(`ALTER TYPE "invoice_status" ADD VALUE 'SENT' BEFORE 'paid';`);
    expect(down).toContain(`ALTER TYPE "invoice_status" ADD VALUE 'VOID' AFTER 'paid';`);

    expect((await runCli(dir, ['migrate'], env)).exitCode).toBe(0);
    expect(await range(db.url)).toEqual(['DRAFT', 'paid']);
    const init = readdirSync(path.join(dir, 'prisma/migrations')).find((n) => n.endsWith('_init'))!;
    const downgrade = await runCli(dir, ['downgrade', '--core', '--target', init, '--yes'], env);
    expect(downgrade.exitCode, downgrade.stderr).toBe(0);
    expect(await range(db.url)).toEqual(['DRAFT', 'SENT', 'paid', 'VOID']);
  }, 60_000);
});
