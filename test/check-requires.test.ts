/** `check` and the `-- orchestrate:requires` lines: unknown targets and unmet requirements. */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BILLING_INIT, CORE_INIT, useSampleOnPostgres } from './apply-fixtures.js';
import { checkData } from './in-process.js';
import { runCli } from './helpers.js';

const sample = useSampleOnPostgres('orch-check-req-');

describe('check and requires', () => {
  it('reports an applied migration whose requirement is not applied', async () => {
    // billing's first migration recorded as applied while core has nothing applied.
    expect((await runCli(sample.dir, ['stamp', 'billing', BILLING_INIT], sample.env)).exitCode).toBe(0);
    const r = await runCli(sample.dir, ['--json', 'check'], sample.env);
    expect(r.exitCode).toBe(3);
    const problems = (JSON.parse(r.stdout) as { problems: { code: string; owner: string; migration?: string; message: string }[] }).problems;
    expect(problems).toContainEqual({
      code: 'unmet-requirement',
      owner: 'billing',
      migration: BILLING_INIT,
      message: `billing/${BILLING_INIT} is applied but requires core/${CORE_INIT}, which is not; the database may lack objects it relies on — apply it (\`orchestrate migrate --all\`) or roll billing back.`,
    });
  });

  it('reports a requires line naming a migration that does not exist', async () => {
    rmSync(path.join(sample.dir, 'prisma/migrations', CORE_INIT), { recursive: true });
    const { ok, problems } = await checkData(sample.dir, ['billing', 'crm'], { database: sample.url });
    expect(ok).toBe(false);
    expect(problems.filter((p) => p.code === 'unknown-requirement').map((p) => p.owner)).toEqual(['billing']);
  });
});
