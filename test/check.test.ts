import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, query, runCli, tempDir, writeProject } from './helpers.js';
import { BILLING, CORE, makeProject, useCleanups } from './fixtures.js';
import { checkData, migrateInProcess, reviseInProcess } from './in-process.js';

const onCleanup = useCleanups();

const CRM = `model Contact {
  id       Int    @id @default(autoincrement())
  fullName String

  @@map("crm_contacts")
}
`;

function migrationDir(dir: string, owner: string, index = 0): string {
  const folder = owner === 'core' ? path.join(dir, 'prisma/migrations') : path.join(dir, 'extensions', owner, 'migrations');
  return path.join(folder, readdirSync(folder).filter((n) => n !== 'migration_lock.toml').sort()[index]!);
}

let template: { dir: string; cleanup: () => void } | undefined;
afterAll(() => template?.cleanup());

// Core + billing + crm with their initial migrations, generated once without a database (in a
// hook of its own: a revision of three owners is most of a test's time), then copied.
beforeAll(async () => {
  template = tempDir();
  writeProject(template.dir, { core: CORE, extensions: { billing: { schema: BILLING }, crm: { schema: CRM } } });
  const written = await reviseInProcess(template.dir, ['billing', 'crm'], { name: 'init' });
  expect(written.owners.map((o) => [o.owner, o.status])).toEqual([
    ['core', 'created'],
    ['billing', 'created'],
    ['crm', 'created'],
  ]);
});

/** A copy of the template project. */
async function migratedProject(): Promise<string> {
  const t = tempDir();
  onCleanup(t.cleanup);
  cpSync(template!.dir, t.dir, { recursive: true });
  return t.dir;
}

describe('check without a database', () => {
  it('passes a clean project with a short summary and one line saying the database checks were skipped', async () => {
    const dir = await migratedProject();
    const r = await runCli(dir, ['check'], { APP_EXTENSIONS: 'billing,crm' });
    expect(r.exitCode, r.stderr as string).toBe(0);
    expect((r.stdout as string).trim().split('\n')).toEqual([
      'No database configured (--url, DATABASE_URL or prisma.config.ts) and no embedded database in .orchestrate/pglite: skipped the checks of applied migrations and orphan history tables.',
      'ok: 3 owner(s) (core, billing, crm), 3 migration(s), schemas match their migrations.',
    ]);
    // The same report as data (what --json prints, beside the notes the text ends with).
    expect(await checkData(dir, ['billing', 'crm'])).toEqual({
      ok: true,
      owners: ['core', 'billing', 'crm'],
      migrations: 3,
      database: { checked: false, location: null },
      problems: [],
      warnings: [],
      notes: ['No database configured (--url, DATABASE_URL or prisma.config.ts) and no embedded database in .orchestrate/pglite: skipped the checks of applied migrations and orphan history tables.'],
      baselines: [],
    });
  });

  it('reports unprefixed names, a missing down.sql and changes without a migration, one line each, exit 3', async () => {
    const dir = await migratedProject();
    rmSync(path.join(migrationDir(dir, 'crm'), 'down.sql'));
    appendFileSync(path.join(dir, 'extensions/billing/schema.prisma'), '\nmodel Payment {\n  id Int @id\n}\n\nenum PaymentKind {\n  CARD\n  @@map("kinds")\n}\n');
    const env = { APP_EXTENSIONS: 'billing,crm' };
    const r = await runCli(dir, ['check'], env);
    expect(r.exitCode).toBe(3);
    const crmMigration = path.relative(dir, migrationDir(dir, 'crm'));
    expect((r.stdout as string).trim().split('\n')).toEqual([
      'table-prefix (billing): Table "Payment" of extension "billing" does not start with "billing_"; map it with @@map("billing_payment") in extensions/billing/schema.prisma so it cannot clash with core or another extension.',
      'enum-prefix (billing): Enum type "kinds" of extension "billing" does not start with "billing_"; map it with @@map("billing_kinds") in extensions/billing/schema.prisma so it cannot clash with core or another extension.',
      'pending-changes (billing): extensions/billing/schema.prisma has changes without a migration; run `orchestrate revision --extension billing -m <name>`.',
      `missing-down (crm): ${crmMigration} has no down.sql, so \`orchestrate downgrade\` cannot roll it back; write the reverse SQL there (an empty file if there is nothing to undo).`,
      'No database configured (--url, DATABASE_URL or prisma.config.ts) and no embedded database in .orchestrate/pglite: skipped the checks of applied migrations and orphan history tables.',
      '4 problem(s) found.',
    ]);
  });

  it('reports a migration folder without migration.sql once, with its owner', async () => {
    const dir = await migratedProject();
    const empty = path.join(dir, 'extensions/crm/migrations/20990101000000_empty');
    mkdirSync(empty);
    const data = await checkData(dir, ['billing', 'crm']);
    expect(data.ok).toBe(false);
    expect(data.problems).toEqual([
      {
        code: 'migrations',
        owner: 'crm',
        migration: '20990101000000_empty',
        file: empty,
        message: `${empty} has no migration.sql; every migration directory needs one (delete the directory if it is not a migration).`,
      },
    ]);
  });

  it('reports composition and validation errors as problems at the original file and line instead of failing', async () => {
    const dir = makeProject(onCleanup, {
      extensions: {
        billing: { schema: BILLING },
        crm: { schema: `${CRM}\nmodel Invoice {\n  id Int @id\n  @@map("crm_invoices")\n}\n` },
        notes: { schema: 'model Note {\n  id   Int   @id\n  body Strin\n\n  @@map("notes_notes")\n}\n' },
      },
    });
    const dup = await checkData(dir, ['billing', 'crm']);
    expect(dup.ok).toBe(false);
    expect(dup.problems).toEqual([
      {
        code: 'composition',
        owner: 'crm',
        file: 'extensions/crm/schema.prisma',
        line: 8,
        message: expect.stringMatching(/^extensions\/crm\/schema\.prisma:8: model "Invoice" is already declared in extensions\/billing\/schema\.prisma:1 \(extension "billing"\)/),
      },
    ]);
    const invalid = await runCli(dir, ['check'], { APP_EXTENSIONS: 'notes' });
    expect(invalid.exitCode).toBe(3);
    expect(invalid.stdout).toMatch(/^composition \(notes\): extensions\/notes\/schema\.prisma:3: .*Strin/m);
  });
});

describe('check with a database', () => {
  it('finds history tables of extensions no longer enabled and applied migrations edited since (PostgreSQL)', async () => {
    const db = await createDatabase();
    onCleanup(db.drop);
    const dir = await migratedProject();
    await migrateInProcess(dir, ['billing', 'crm'], db.url);

    const clean = await checkData(dir, ['billing', 'crm'], { database: db.url });
    expect(clean.problems).toEqual([]);
    expect(clean.ok).toBe(true);
    expect(clean.database).toEqual({ checked: true, location: db.url });

    // crm switched off with its tables still there; billing's applied migration edited.
    const billingSql = path.join(migrationDir(dir, 'billing'), 'migration.sql');
    appendFileSync(billingSql, '\n-- an edit after it was applied\n');
    const data = await checkData(dir, ['billing'], { database: db.url });
    expect(data.ok).toBe(false);
    expect(data.problems.map((p) => [p.code, p.owner])).toEqual([
      ['checksum-mismatch', 'billing'],
      ['orphan-history', 'crm'],
    ]);
    expect(data.problems[0]!.message).toMatch(
      new RegExp(`^billing/\\d{14}_init was edited after it was applied: ${billingSql.replace(/[.]/g, '\\.')} has checksum [0-9a-f]{12}… but _prisma_migrations_billing recorded [0-9a-f]{12}…`),
    );
    expect(data.problems[1]!.message).toBe(
      'History table "_prisma_migrations_crm" records 1 applied migration(s) of extension "crm", which is not enabled, so its tables are still in the database; enable it (APP_EXTENSIONS=billing,crm), or uninstall it with `orchestrate --extensions billing,crm downgrade --extension crm --target base`.',
    );

    // An empty leftover history table (its extension folder deleted) is reported too.
    writeFileSync(billingSql, readFileSync(billingSql, 'utf8').replace('\n-- an edit after it was applied\n', ''));
    await query(db.url, 'CREATE TABLE "_prisma_migrations_gone" (LIKE "_prisma_migrations_crm")');
    const leftover = await checkData(dir, ['billing', 'crm'], { database: db.url });
    expect(leftover.problems).toEqual([
      {
        code: 'orphan-history',
        owner: 'gone',
        message: 'History table "_prisma_migrations_gone" of extension "gone", which is not enabled, records no applied migration; drop it (DROP TABLE "public"."_prisma_migrations_gone") or enable the extension again.',
      },
    ]);
  });

  it('checks the embedded database when it exists', async () => {
    const dir = await migratedProject();
    await migrateInProcess(dir, ['billing', 'crm']);
    const data = await checkData(dir, ['billing']);
    expect(data.ok).toBe(false);
    expect(data.database).toEqual({ checked: true, location: '.orchestrate/pglite' });
    expect(data.problems.map((p) => [p.code, p.owner])).toEqual([['orphan-history', 'crm']]);
  });
});
