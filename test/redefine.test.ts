import { describe, expect, it } from 'vitest';
import { findRedefinitions, previousDefinition, redefinitionProblems } from '../src/plan/redefine.js';

/** Statements as the guard sees them: code without comments or the final semicolon. */
const statements = (sql: string) =>
  sql
    .split(/;\s*\n/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter(Boolean);

const USER_BEFORE = `CREATE TABLE "User" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "email" TEXT NOT NULL,
    "organizationId" INTEGER NOT NULL,
    CONSTRAINT "User_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
CREATE INDEX "User_organizationId_idx" ON "User"("organizationId");
`;

/** A rebuild of User as Prisma writes it, with the given parts. */
function rebuild(opts: { columns?: string[]; constraints?: string[]; copy?: string; indexes?: string[] } = {}): string {
  const columns = opts.columns ?? ['"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT', '"email" TEXT NOT NULL', '"organizationId" INTEGER NOT NULL', '"planId" INTEGER'];
  const constraints = opts.constraints ?? [
    'CONSTRAINT "User_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE',
    'CONSTRAINT "User_planId_fkey" FOREIGN KEY ("planId") REFERENCES "billing_plans" ("id") ON DELETE SET NULL ON UPDATE CASCADE',
  ];
  const copy = opts.copy ?? 'INSERT INTO "new_User" ("email", "id", "organizationId") SELECT "email", "id", "organizationId" FROM "User"';
  const indexes = opts.indexes ?? ['CREATE UNIQUE INDEX "User_email_key" ON "User"("email")', 'CREATE INDEX "User_organizationId_idx" ON "User"("organizationId")'];
  return [
    'PRAGMA defer_foreign_keys=ON',
    'PRAGMA foreign_keys=OFF',
    `CREATE TABLE "new_User" (\n    ${[...columns, ...constraints].join(',\n    ')}\n)`,
    ...(copy ? [copy] : []),
    'DROP TABLE "User"',
    'ALTER TABLE "new_User" RENAME TO "User"',
    ...indexes,
    'PRAGMA foreign_keys=ON',
  ].join(';\n') + ';\n';
}

/** billing owns the planId column it adds to core's User. */
const billingOwns = (column: string) => column === 'planId';

function problems(script: string, previous = USER_BEFORE): string[] {
  const list = statements(script);
  const [block] = findRedefinitions(list);
  if (!block) throw new Error('no rebuild found');
  return redefinitionProblems(block, previousDefinition(statements(previous), block.table), billingOwns).map((p) => p.object);
}

describe('SQLite table rebuilds of another owner\'s table', () => {
  it('finds the whole block: create, copy, drop, rename and the indexes', () => {
    const list = statements(rebuild());
    const [block] = findRedefinitions(list);
    expect(block!.table).toBe('User');
    expect(block!.statements).toEqual([2, 3, 4, 5, 6, 7]);
    expect(block!.copy).toEqual({ into: ['email', 'id', 'organizationId'], select: ['email', 'id', 'organizationId'], from: 'User' });
    expect([...block!.indexes.keys()]).toEqual(['User_email_key', 'User_organizationId_idx']);
  });

  it.each<[string, string, string[]]>([
    ['adds the owner\'s column and foreign key', rebuild(), []],
    [
      'adds the owner\'s unique index as well',
      rebuild({ indexes: ['CREATE UNIQUE INDEX "User_email_key" ON "User"("email")', 'CREATE INDEX "User_organizationId_idx" ON "User"("organizationId")', 'CREATE UNIQUE INDEX "User_planId_key" ON "User"("planId")'] }),
      [],
    ],
    [
      'changes the type of another owner\'s column',
      rebuild({ columns: ['"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT', '"email" TEXT', '"organizationId" INTEGER NOT NULL', '"planId" INTEGER'] }),
      ['column "User"."email"'],
    ],
    [
      'drops another owner\'s column',
      rebuild({ columns: ['"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT', '"organizationId" INTEGER NOT NULL', '"planId" INTEGER'], copy: 'INSERT INTO "new_User" ("id", "organizationId") SELECT "id", "organizationId" FROM "User"' }),
      ['column "User"."email"'],
    ],
    [
      'adds a column that is not the owner\'s',
      rebuild({ columns: ['"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT', '"email" TEXT NOT NULL', '"organizationId" INTEGER NOT NULL', '"planId" INTEGER', '"nickname" TEXT'] }),
      ['column "User"."nickname"'],
    ],
    [
      'drops another owner\'s foreign key',
      rebuild({ constraints: ['CONSTRAINT "User_planId_fkey" FOREIGN KEY ("planId") REFERENCES "billing_plans" ("id") ON DELETE SET NULL ON UPDATE CASCADE'] }),
      ['constraint "User_organizationId_fkey" on table "User"'],
    ],
    [
      'changes another owner\'s foreign key action',
      rebuild({
        constraints: [
          'CONSTRAINT "User_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization" ("id") ON DELETE RESTRICT ON UPDATE CASCADE',
          'CONSTRAINT "User_planId_fkey" FOREIGN KEY ("planId") REFERENCES "billing_plans" ("id") ON DELETE SET NULL ON UPDATE CASCADE',
        ],
      }),
      ['constraint "User_organizationId_fkey" on table "User"'],
    ],
    ['leaves out another owner\'s column from the copy', rebuild({ copy: 'INSERT INTO "new_User" ("id", "organizationId") SELECT "id", "organizationId" FROM "User"' }), ['column "User"."email"']],
    [
      'copies another owner\'s column from a different one',
      rebuild({ copy: 'INSERT INTO "new_User" ("email", "id", "organizationId") SELECT "organizationId", "id", "email" FROM "User"' }),
      ['column "User"."email"', 'column "User"."organizationId"'],
    ],
    ['copies nothing', rebuild({ copy: '' }), ['the rows of table "User"']],
    ['does not recreate another owner\'s index', rebuild({ indexes: ['CREATE UNIQUE INDEX "User_email_key" ON "User"("email")'] }), ['index "User_organizationId_idx" on table "User"']],
    [
      'recreates another owner\'s index differently',
      rebuild({ indexes: ['CREATE INDEX "User_email_key" ON "User"("email")', 'CREATE INDEX "User_organizationId_idx" ON "User"("organizationId")'] }),
      ['index "User_email_key" on table "User"'],
    ],
  ])('%s', (_name, script, expected) => {
    expect(problems(script)).toEqual(expected);
  });

  it('removing the owner\'s column again (down.sql) is allowed the same way', () => {
    const withPlan = USER_BEFORE.replace('"organizationId" INTEGER NOT NULL,', '"organizationId" INTEGER NOT NULL,\n    "planId" INTEGER,') + 'CREATE UNIQUE INDEX "User_planId_key" ON "User"("planId");\n';
    const down = rebuild({
      columns: ['"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT', '"email" TEXT NOT NULL', '"organizationId" INTEGER NOT NULL'],
      constraints: ['CONSTRAINT "User_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE'],
    });
    expect(problems(down, withPlan)).toEqual([]);
  });

  it('a rebuild of a table the previous schema does not have cannot be checked, so it is refused', () => {
    expect(problems(rebuild(), 'CREATE TABLE "Other" ("id" INTEGER)')).toEqual(['table "User"']);
  });
});
