/**
 * Replay in a shadow database, in-process: what adopted histories produce (an extension's part
 * only), and drift between a history and its snapshot. The project is a copy of the sample app.
 */
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { loadProject, type Project } from '../src/project/project.js';
import { findDrift } from '../src/shadow/drift.js';
import { replayedSnapshots } from '../src/shadow/produce.js';
import { useCleanups } from './fixtures.js';
import { REPO, tempDir } from './helpers.js';

const onCleanup = useCleanups();

/** The sample app (core, billing, crm, analytics) copied into a temp folder. */
function sampleApp(): { dir: string; project: () => Project } {
  const t = tempDir('orch-shadow-');
  onCleanup(t.cleanup);
  cpSync(path.join(REPO, 'prisma'), path.join(t.dir, 'prisma'), { recursive: true });
  cpSync(path.join(REPO, 'extensions'), path.join(t.dir, 'extensions'), { recursive: true });
  return { dir: t.dir, project: () => loadProject(loadSettings(t.dir), { extensions: 'billing,crm,analytics', env: {} }) };
}

const schemas = (project: Project) => new Map(project.owners.map((o) => [o.name, readFileSync(o.schemaPath, 'utf8')]));

function dropSnapshots(dir: string, owner: string): void {
  const migrations = path.join(dir, 'extensions', owner, 'migrations');
  for (const m of readdirSync(migrations).filter((n) => /^\d{14}_/.test(n))) rmSync(path.join(migrations, m, 'snapshot.prisma'), { force: true });
}

describe('replay', () => {
  it("gives an adopted extension's own models, enums and `extend model` fields, nothing of core or its dependencies", async () => {
    const app = sampleApp();
    dropSnapshots(app.dir, 'billing');
    dropSnapshots(app.dir, 'analytics');
    const project = app.project();
    const produced = await replayedSnapshots(project, [project.discovered.get('analytics')!]);
    // analytics depends on billing: both are adopted, core has its snapshot and is not replayed.
    expect([...produced.keys()].sort()).toEqual(['analytics', 'billing']);
    const billing = produced.get('billing')!;
    expect(billing).toMatch(/^model Invoice \{$/m);
    expect(billing).toMatch(/^model InvoiceLine \{$/m);
    expect(billing).toMatch(/^enum InvoiceStatus \{$/m);
    expect(billing).toMatch(/^extend model User \{\n\s+billingCustomerId\s+String\?\s+@unique @map\("billing_customer_id"\)\n\}$/m);
    expect(billing).not.toMatch(/^model (User|Organization) \{/m);
    expect(produced.get('analytics')!).not.toMatch(/^model Invoice \{/m);
    // What the histories produce is what the schemas say: no drift for anyone.
    expect(await findDrift(project, project.owners, schemas(project))).toEqual([]);
  }, 60_000);

  it('reports a history that does not produce its snapshot, with the SQL that reconciles them', async () => {
    const app = sampleApp();
    const project = app.project();
    const core = readdirSync(project.core.migrationsDir).filter((n) => /^\d{14}_/.test(n)).sort().at(-1)!;
    const snapshot = path.join(project.core.migrationsDir, core, 'snapshot.prisma');
    const text = readFileSync(snapshot, 'utf8');
    // The snapshot claims a column no migration creates (a hand-edited snapshot or migration).
    writeFileSync(snapshot, text.replace(/^(\s+email\s+String\s+@unique)$/m, '$1\n  nickname String?'));
    writeFileSync(project.core.schemaPath, readFileSync(snapshot, 'utf8'));
    const drift = await findDrift(project, project.owners, schemas(project));
    expect(drift).toEqual([
      {
        owner: 'core',
        against: 'snapshot',
        file: `prisma/migrations/${core}/snapshot.prisma`,
        sql: '-- AlterTable\nALTER TABLE "User" ADD COLUMN     "nickname" TEXT;\n',
        migrations: 1,
      },
    ]);
  }, 60_000);
});
