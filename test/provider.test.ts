import { describe, expect, it } from 'vitest';
import { scanProvider, schemaProvider } from '../src/project/provider.js';

const cases: [string, string, string | null][] = [
  ['a plain datasource', 'datasource db {\n  provider = "sqlite"\n}\n', 'sqlite'],
  ['postgres as an alias', 'datasource db {\n  provider = "postgres"\n}\n', 'postgresql'],
  ['a commented-out line', 'datasource db {\n  // provider = "sqlite"\n  provider = "postgresql"\n}\n', 'postgresql'],
  ['a commented-out block', '// datasource db {\n//   provider = "sqlite"\n// }\ndatasource db {\n  provider = "postgresql"\n}\n', 'postgresql'],
  ['a generator provider first', 'generator client {\n  provider = "prisma-client"\n}\ndatasource db {\n  provider = "sqlite"\n}\n', 'sqlite'],
  ['"//" inside a string', 'datasource db {\n  provider = "sqlite" // local\n  url = "file://x"\n}\n', 'sqlite'],
  ['no datasource (a fragment)', 'model A {\n  id Int @id\n}\n', null],
];

describe('the datasource provider', () => {
  it.each(cases)('%s: the scan and the parser agree', async (_name, text, expected) => {
    expect(scanProvider(text, 'prisma/schema.prisma')).toBe(expected);
    expect(await schemaProvider(text, 'prisma/schema.prisma')).toBe(expected);
  });

  it('refuses providers without an in-process schema engine in one sentence', async () => {
    const text = 'datasource db {\n  provider = "mysql"\n}\n';
    const message =
      'prisma/schema.prisma: datasource provider "mysql" is not supported; orchestrate runs migrations on "postgresql" and "sqlite" (MySQL and SQL Server need Prisma\'s native schema engine, which cannot run in-process).';
    expect(() => scanProvider(text, 'prisma/schema.prisma')).toThrow(message);
    await expect(schemaProvider(text, 'prisma/schema.prisma')).rejects.toThrow(message);
  });
});
