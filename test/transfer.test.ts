import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { createOrchestrator, type Orchestrator } from '../src/index.js';
import { CORE, makeProject, oneErrorLine, useCleanups } from './fixtures.js';
import { createDatabase, query, runCli } from './helpers.js';
import { reviseInProcess } from './in-process.js';

const onCleanup = useCleanups();

/** A model of core that a monolith's split hands to the billing extension. */
const AUDIT = `enum AuditLevel {
  INFO
  WARN
}

model AuditLog {
  id        Int          @id @default(autoincrement())
  message   String       @unique
  level     AuditLevel   @default(INFO)
  orgId     Int
  org       Organization @relation(fields: [orgId], references: [id])
  createdAt DateTime     @default(now())

  @@index([orgId])
  @@map("audit_log")
}
`;
const CORE_WITH_AUDIT = CORE.replace('  users User[]\n', '  users User[]\n  audits AuditLog[]\n') + '\n' + AUDIT;
const BILLING = `model Invoice {
  id     Int    @id @default(autoincrement())
  userId Int
  user   User   @relation(fields: [userId], references: [id])

  @@map("billing_invoices")
}

extend model User {
  invoices Invoice[]
}
`;
const BILLING_WITH_AUDIT = `${BILLING}\n${AUDIT}\nextend model Organization {\n  audits AuditLog[]\n}\n`;
const ENV = { APP_EXTENSIONS: 'billing' };

/** The schema as pg_dump prints it, without the session-specific lines. */
async function dump(url: string): Promise<string> {
  const { stdout } = await execa('pg_dump', ['--schema-only', '--no-owner', url]);
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('--') && !/^\\(un)?restrict /.test(l))
    .join('\n');
}

async function db() {
  const d = await createDatabase('orch_transfer');
  onCleanup(d.drop);
  return d.url;
}

/** `revision` in this process with billing enabled: these tests examine its files, not its output. */
const revise = (dir: string, request: Parameters<typeof reviseInProcess>[2]) => reviseInProcess(dir, ['billing'], request);

/** An orchestrator with billing enabled on a database, closed after the test. */
function on(dir: string, url: string): Orchestrator {
  const o = createOrchestrator({ root: dir, extensions: ['billing'], database: url, env: {} });
  onCleanup(() => o.close());
  return o;
}

/** `migrate --all`: every pending migration, which must all succeed. */
async function migrate(o: Orchestrator): Promise<void> {
  const result = await o.apply(await o.planUpgrade());
  expect(result.ok, result.error?.problem.message).toBe(true);
}

const latest = (dir: string, folder: string) => {
  const names = readdirSync(path.join(dir, folder)).filter((n) => /^\d{14}_/.test(n)).sort();
  return path.join(dir, folder, names.at(-1)!);
};

describe('moving a model from core to an extension (splitting a monolith)', () => {
  it('keeps the rows of an upgraded database, and a fresh install ends in the same schema', async () => {
    const dir = makeProject(onCleanup, { core: CORE_WITH_AUDIT, extensions: { billing: { schema: BILLING } } });
    await revise(dir, { name: 'init' });
    const upgraded = await db();
    await migrate(on(dir, upgraded));
    await query(upgraded, `INSERT INTO "Organization" (name) VALUES ('acme')`);
    await query(upgraded, `INSERT INTO audit_log (message, "orgId", level) SELECT 'kept', id, 'WARN' FROM "Organization"`);

    // The split: AuditLog and its enum leave core's schema for billing's.
    writeFileSync(path.join(dir, 'prisma/schema.prisma'), readFileSync(path.join(dir, 'prisma/schema.prisma'), 'utf8').replace(AUDIT, '').replace('  audits AuditLog[]\n', ''));
    writeFileSync(path.join(dir, 'extensions/billing/schema.prisma'), BILLING_WITH_AUDIT);
    const revised = await revise(dir, { name: 'move_audit' });
    expect(revised.owners).toEqual([
      expect.objectContaining({ owner: 'core', status: 'created', migration: expect.stringMatching(/move_audit$/) }),
      expect.objectContaining({ owner: 'billing', status: 'created', migration: expect.stringMatching(/move_audit$/) }),
    ]);

    const coreUp = readFileSync(path.join(latest(dir, 'prisma/migrations'), 'migration.sql'), 'utf8');
    expect(coreUp).not.toMatch(/DROP/);
    expect(coreUp).toContain('-- orchestrate: table "audit_log" moves from core to billing');
    const billingUp = readFileSync(path.join(latest(dir, 'extensions/billing/migrations'), 'migration.sql'), 'utf8');
    expect(billingUp).toContain('CREATE TABLE IF NOT EXISTS "audit_log"');
    expect(billingUp).toMatch(/IF to_regtype\('"AuditLevel"'\) IS NULL THEN\n\s+CREATE TYPE "AuditLevel"/);

    await migrate(on(dir, upgraded));
    expect(await query(upgraded, 'SELECT message, level::text FROM audit_log')).toEqual([{ message: 'kept', level: 'WARN' }]);

    const fresh = await db();
    const onFresh = on(dir, fresh);
    await migrate(onFresh);
    expect(await dump(fresh)).toBe(await dump(upgraded));

    // Each owner's snapshot now matches its schema: nothing left to revise.
    expect((await onFresh.planRevision()).owners.map((o) => `${o.owner}: ${o.status}`)).toEqual(['core: unchanged', 'billing: unchanged']);

    // Rolling the move back gives core its table again (billing's rollback drops its copy): each
    // owner back to its migration before the move.
    const before = (folder: string) => readdirSync(path.join(dir, folder)).filter((n) => /^\d{14}_init$/.test(n))[0]!;
    for (const [owner, folder] of [['billing', 'extensions/billing/migrations'], ['core', 'prisma/migrations']] as const) {
      const rolledBack = await onFresh.apply(await onFresh.planDowngrade({ owners: [owner], target: before(folder) }));
      expect(rolledBack.ok, rolledBack.error?.problem.message).toBe(true);
      expect(rolledBack.results.map((r) => [r.owner, r.direction, r.status])).toEqual([[owner, 'Down', 'Success']]);
    }
    expect(await query(fresh, `SELECT to_regclass('audit_log')::text AS t`)).toEqual([{ t: 'audit_log' }]);
  });

  it('asks for both owners in one run, and refuses a move that also changes the model', async () => {
    const dir = makeProject(onCleanup, { core: CORE_WITH_AUDIT, extensions: { billing: { schema: BILLING } } });
    await revise(dir, { name: 'init' });
    writeFileSync(path.join(dir, 'prisma/schema.prisma'), readFileSync(path.join(dir, 'prisma/schema.prisma'), 'utf8').replace(AUDIT, '').replace('  audits AuditLog[]\n', ''));
    writeFileSync(path.join(dir, 'extensions/billing/schema.prisma'), BILLING_WITH_AUDIT.replace('  message   String       @unique', '  message   String       @unique\n  source    String?'));

    const alone = await runCli(dir, ['revision', '--core', '-m', 'move_audit'], ENV);
    expect(alone.exitCode).toBe(3);
    expect(oneErrorLine(alone.stderr)).toContain(
      'table "audit_log" and enum type "AuditLevel" move from core to extension "billing", and both migrations of the move are written together (one keeps it, the other takes it over): revise both in one run (`orchestrate revision --core --extension billing -m <name>`, or --all).',
    );

    const changed = await runCli(dir, ['revision', '--all', '-m', 'move_audit'], ENV);
    expect(changed.exitCode).toBe(3);
    expect(oneErrorLine(changed.stderr)).toMatch(/^table "audit_log" moves from core to billing and changes at the same time \(ALTER TABLE "audit_log" ADD COLUMN "source" TEXT\); move it unchanged in one revision, then change it in the next\.$/);
    expect(readdirSync(path.join(dir, 'prisma/migrations')).filter((n) => n.includes('move_audit'))).toEqual([]);
  });

  it('refuses to promote an extension model to core: fresh installs would create it twice', async () => {
    const dir = makeProject(onCleanup, { core: CORE, extensions: { billing: { schema: BILLING_WITH_AUDIT } } });
    await revise(dir, { name: 'init' });
    writeFileSync(path.join(dir, 'prisma/schema.prisma'), readFileSync(path.join(dir, 'prisma/schema.prisma'), 'utf8').replace('  users User[]\n', '  users User[]\n  audits AuditLog[]\n') + '\n' + AUDIT);
    writeFileSync(path.join(dir, 'extensions/billing/schema.prisma'), BILLING);
    const r = await runCli(dir, ['revision', '--all', '-m', 'promote'], ENV);
    expect(r.exitCode).toBe(3);
    expect(oneErrorLine(r.stderr)).toContain(
      'table "audit_log" and enum type "AuditLevel" move from extension "billing" to core, whose migrations run first on a fresh install, so billing\'s existing migration would then create them a second time; keep them in billing (a model cannot be promoted from an extension to core), or copy the data into a new core model with another table name.',
    );
  });
});
