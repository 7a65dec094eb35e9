import { describe, expect, it } from 'vitest';
import { extensionsCreatedBy, pgliteExtensionsFor } from '../../src/db/pglite-extensions.js';

describe('extensionsCreatedBy', () => {
  it('finds CREATE EXTENSION statements, quoted or not, and nothing in comments or strings', () => {
    const sql = [
      '-- CREATE EXTENSION postgis;\nCREATE EXTENSION IF NOT EXISTS "pgcrypto";\ncreate extension pg_trgm with schema public;',
      "INSERT INTO t VALUES ('CREATE EXTENSION hstore;');\n/* CREATE EXTENSION ltree; */\nCREATE EXTENSION \"uuid-ossp\";\nCREATE EXTENSION pgcrypto;",
      'CREATE TABLE t (id int);',
    ];
    expect(extensionsCreatedBy(sql)).toEqual(['pgcrypto', 'pg_trgm', 'uuid-ossp']);
  });
});

describe('pgliteExtensionsFor', () => {
  it('gives the tarball of each shipped extension, its dependencies, and the names PGlite lacks', () => {
    const r = pgliteExtensionsFor({ sql: ['CREATE EXTENSION earthdistance;\nCREATE EXTENSION vector;\nCREATE EXTENSION postgis;\nCREATE EXTENSION plpgsql;\nCREATE EXTENSION intarray;'] });
    expect(r.loaded).toEqual(['cube', 'earthdistance', 'intarray', 'vector']);
    expect(r.unavailable).toEqual(['postgis']);
    expect(Object.values(r.extensions).map((e) => e.name).sort()).toEqual(['_int', 'cube', 'earthdistance', 'vector']);
  });

  it('accepts names', () => {
    expect(pgliteExtensionsFor(['uuid-ossp', 'citext', 'hstore', 'ltree']).loaded).toEqual(['citext', 'hstore', 'ltree', 'uuid-ossp']);
  });
});
