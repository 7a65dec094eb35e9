import { describe, expect, it } from 'vitest';
import { parseDirectives } from '../../src/migrations/folder.js';
import { findFork, forkMessage, parentsOf } from '../../src/migrations/heads.js';
import { columnTypes, dataLoss } from '../../src/plan/data-loss.js';

const m = (name: string, ...parents: string[]) => ({ name, parents });

describe('parents and heads', () => {
  it('reads parent lines among the leading comment lines, and only there', () => {
    const sql = '-- orchestrate:requires core 20260101000000_init\n-- orchestrate:parent 20260102000000_a\n-- orchestrate:parent 20260103000000_b\nSELECT 1;\n-- orchestrate:parent later\n';
    expect(parseDirectives(sql)).toEqual({ noTransaction: false, requires: [{ owner: 'core', migration: '20260101000000_init' }], parents: ['20260102000000_a', '20260103000000_b'] });
  });

  it('takes a migration without a parent line to follow the previous folder', () => {
    expect([...parentsOf([m('1_init'), m('2_a'), m('3_b', '2_a')])]).toEqual([['1_init', []], ['2_a', ['1_init']], ['3_b', ['2_a']]]);
    expect(findFork([m('1_init'), m('2_a'), m('3_b')])).toBeNull();
  });

  it('finds two migrations made from the same parent, and the merge that joins them', () => {
    const branches = [m('1_init'), m('2_a', '1_init'), m('3_b', '1_init')];
    expect(findFork(branches)).toEqual({ heads: ['2_a', '3_b'], base: '1_init' });
    expect(findFork([...branches, m('4_merge', '2_a', '3_b')])).toBeNull();
    expect(findFork([...branches, m('4_merge', '2_a', '3_b'), m('5_next', '4_merge')])).toBeNull();
    // A longer branch: the fork point is still the shared migration.
    expect(findFork([m('1_init'), m('2_a', '1_init'), m('3_b', '1_init'), m('4_a2', '2_a')])).toEqual({ heads: ['3_b', '4_a2'], base: '1_init' });
  });

  it('says which heads, where they forked and the command that joins them, in one sentence', () => {
    expect(forkMessage('billing', '--extension billing', { heads: ['2_a', '3_b'], base: '1_init' })).toBe(
      'billing has 2 heads, 2_a and 3_b (each made from 1_init on its own branch); join them with `orchestrate revision --extension billing --merge -m merge` before generating or applying anything else.',
    );
  });
});

describe('data-loss warnings', () => {
  it('words each statement that loses data as Prisma migrate dev does without row counts', () => {
    const sql = [
      '-- DropForeignKey',
      'ALTER TABLE "billing_invoices" DROP CONSTRAINT "billing_invoices_userId_fkey";',
      'ALTER TABLE "User" DROP COLUMN "bio",',
      'ADD COLUMN     "age" INTEGER;',
      'ALTER TABLE "Post" DROP COLUMN "score",',
      'ADD COLUMN     "score" INTEGER NOT NULL;',
      'ALTER TABLE "Post" ALTER COLUMN "title" SET NOT NULL,',
      'ALTER COLUMN "views" SET DATA TYPE BIGINT,',
      'ALTER COLUMN "body" DROP NOT NULL;',
      'DROP TABLE "Audit";',
      'DROP TYPE "Role";',
      'ALTER TYPE "Plan" RENAME TO "Plan_old";',
      'DROP TYPE "Plan_old";',
    ].join('\n');
    const before = columnTypes('CREATE TABLE "Post" (\n    "id" SERIAL NOT NULL,\n    "views" INTEGER NOT NULL DEFAULT 0,\n    CONSTRAINT "Post_pkey" PRIMARY KEY ("id")\n);\n');
    expect(dataLoss(sql, before).map((w) => [w.kind, w.message])).toEqual([
      ['drop-column', 'You are about to drop the column `bio` on the `User` table. All the data in the column will be lost.'],
      ['recreate-column', 'The `score` column on the `Post` table would be dropped and recreated. This will lead to data loss.'],
      ['set-not-null', 'Made the column `title` on table `Post` required. This step will fail if there are existing NULL values in that column.'],
      ['alter-type', 'You are about to alter the column `views` on the `Post` table. The data in that column could be lost. The data in that column will be cast from `INTEGER` to `BIGINT`.'],
      ['drop-table', 'You are about to drop the `Audit` table. If the table is not empty, all the data it contains will be lost.'],
      ['drop-type', 'You are about to drop the enum `Role`. If you are still using this enum, this will fail.'],
    ]);
  });

  it('does not count an SQLite table redefinition as a dropped table', () => {
    const sql = 'PRAGMA foreign_keys=OFF;\nCREATE TABLE "new_T" ("id" INTEGER NOT NULL PRIMARY KEY);\nINSERT INTO "new_T" ("id") SELECT "id" FROM "T";\nDROP TABLE "T";\nALTER TABLE "new_T" RENAME TO "T";\nPRAGMA foreign_keys=ON;\n';
    expect(dataLoss(sql)).toEqual([]);
    expect(dataLoss('CREATE TABLE "X" ("id" INTEGER);\n')).toEqual([]);
  });
});
