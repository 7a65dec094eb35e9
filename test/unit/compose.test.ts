import { describe, expect, it } from 'vitest';
import { InputErrors } from '../../src/errors.js';
import { compose, originOf, type OwnerSource } from '../../src/schema/compose.js';

const CORE = 'datasource db {\n  provider = "postgresql"\n}\n\nmodel User {\n  id Int @id\n}\n';

function source(owner: string, text: string, visible: string[] = owner === 'core' ? [] : ['core']): OwnerSource {
  const path = owner === 'core' ? 'prisma/schema.prisma' : `extensions/${owner}/schema.prisma`;
  return { owner, kind: owner === 'core' ? 'core' : 'extension', visible, file: { owner, path, text }, manifestPath: owner === 'core' ? undefined : `extensions/${owner}/extension.json` };
}

const BILLING = 'model Invoice {\n  id     Int  @id\n  userId Int\n  user   User @relation(fields: [userId], references: [id])\n  @@map("billing_invoices")\n}\n\nextend model User {\n  invoices Invoice[]\n  plan     String? @map("billing_plan")\n}\n';

describe('compose', () => {
  it('gives each model, table and column its owner; fields added with `extend model` belong to the extension', () => {
    const { ownership } = compose([source('core', CORE), source('billing', BILLING)]);
    expect(Object.fromEntries(ownership.tables)).toEqual({ User: 'core', billing_invoices: 'billing' });
    expect(ownership.columns.get('User.id')).toBe('core');
    expect(ownership.columns.get('User.billing_plan') ?? ownership.columns.get('User.plan')).toBe('billing');
    expect(ownership.extenders.get('User')).toEqual(['billing']);
    expect([...ownership.extended.get('billing')!]).toEqual(['User']);
  });

  it('folds `extend model` bodies into their model and maps every line back to its file', () => {
    const composed = compose([source('core', CORE), source('billing', BILLING)]);
    const core = composed.files[0]!;
    expect(core.content).toContain('model User {\n  id Int @id\n  invoices Invoice[]\n  plan     String? @map("billing_plan")\n}');
    const line = core.content.split('\n').findIndex((l) => l.includes('plan     String?')) + 1;
    expect(originOf(composed, 'prisma/schema.prisma', line)).toEqual({ path: 'extensions/billing/schema.prisma', line: 10, owner: 'billing' });
    expect(composed.files[1]!.content).not.toContain('extend model');
  });

  it('is not confused by braces in comments and strings', () => {
    const text = '// a comment with { braces }\nmodel Note {\n  id   Int    @id\n  body String @default("}{")\n  @@map("notes_notes")\n}\n';
    expect(Object.fromEntries(compose([source('core', CORE), source('notes', text)]).ownership.tables)).toEqual({ User: 'core', notes_notes: 'notes' });
  });

  const refusals: { name: string; sources: OwnerSource[]; problems: [string | undefined, string | undefined, number | undefined, RegExp][] }[] = [
    {
      name: 'a model declared by two owners',
      sources: [source('core', CORE), source('crm', 'model User {\n  id Int @id\n}\n')],
      problems: [['crm', 'extensions/crm/schema.prisma', 1, /^extensions\/crm\/schema\.prisma:1: model "User" is already declared in prisma\/schema\.prisma:5 \(core\)/]],
    },
    {
      name: '`extend model` in core',
      sources: [source('core', `${CORE}\nextend model User {\n  x Int\n}\n`)],
      problems: [['core', 'prisma/schema.prisma', 9, /`extend model` is only allowed in extension fragments/]],
    },
    {
      name: 'extending a model of an extension it does not depend on',
      sources: [source('core', CORE), source('billing', BILLING), source('crm', 'extend model Invoice {\n  note String?\n}\n')],
      problems: [['crm', 'extensions/crm/schema.prisma', 1, /targets a model owned by extension "billing", which extension "crm" does not depend on; add "billing" to dependsOn in extensions\/crm\/extension\.json/]],
    },
    {
      name: 'a datasource in a fragment, and a field of an invisible type',
      sources: [source('core', CORE), source('billing', BILLING), source('crm', 'datasource db {\n  provider = "postgresql"\n}\n\nmodel crm_Contact {\n  id  Int     @id\n  inv Invoice\n}\n')],
      problems: [
        ['crm', 'extensions/crm/schema.prisma', 1, /a datasource block is not allowed in an extension fragment/],
        ['crm', 'extensions/crm/schema.prisma', 7, /field "inv" refers to Invoice, owned by extension "billing"/],
      ],
    },
  ];
  it.each(refusals)('reports $name as problems with owner, file and line', ({ sources, problems }) => {
    let thrown: unknown;
    try {
      compose(sources);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InputErrors);
    const got = (thrown as InputErrors).problems;
    expect(got.map((p) => [p.code, p.owner, p.file, p.line])).toEqual(problems.map(([owner, file, line]) => ['composition', owner, file, line]));
    got.forEach((p, i) => expect(p.message).toMatch(problems[i]![3]));
  });
});
