import { describe, expect, it } from 'vitest';
import { needsTerminator, splitStatements, statementAt } from '../src/db/split.js';

const texts = (sql: string) => splitStatements(sql).map((s) => s.text);

describe('splitStatements', () => {
  it('splits on semicolons and keeps offsets and lines', () => {
    const sql = 'CREATE TABLE a (id int);\n\n  INSERT INTO a VALUES (1);\nSELECT 1';
    const statements = splitStatements(sql);
    expect(statements).toEqual([
      { text: 'CREATE TABLE a (id int);', start: 0, end: 24, line: 1, terminated: true },
      { text: 'INSERT INTO a VALUES (1);', start: 28, end: 53, line: 3, terminated: true },
      { text: 'SELECT 1', start: 54, end: 62, line: 4, terminated: false },
    ]);
    expect(sql.slice(statements[1]!.start, statements[1]!.end)).toBe('INSERT INTO a VALUES (1);');
  });

  it('ignores semicolons in strings, identifiers, comments and dollar-quoted bodies', () => {
    const sql = [
      "INSERT INTO t VALUES ('a;b', 'it''s;', E'x\\';y');",
      'CREATE TABLE "we;ird" (id int);',
      '-- a comment; with a semicolon',
      '/* block; /* nested; */ still; */ SELECT 1;',
      "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN RETURN 1; END; $fn$;",
      'DO $$ BEGIN PERFORM 1; END $$;',
      'SELECT $1, a$b FROM t;',
    ].join('\n');
    expect(texts(sql)).toEqual([
      "INSERT INTO t VALUES ('a;b', 'it''s;', E'x\\';y');",
      'CREATE TABLE "we;ird" (id int);',
      '-- a comment; with a semicolon\n/* block; /* nested; */ still; */ SELECT 1;',
      'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN RETURN 1; END; $fn$;',
      'DO $$ BEGIN PERFORM 1; END $$;',
      'SELECT $1, a$b FROM t;',
    ]);
  });

  it('keeps SQL-standard function bodies and parenthesised rule actions whole', () => {
    const sql = [
      'CREATE OR REPLACE FUNCTION g(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END; END;',
      'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); INSERT INTO u VALUES (2));',
      'BEGIN;',
      'SELECT 1;',
    ].join('\n');
    expect(texts(sql)).toHaveLength(4);
    expect(texts(sql)[0]).toMatch(/^CREATE OR REPLACE FUNCTION g.* END;$/);
  });

  it('drops empty statements and comment-only tails', () => {
    expect(texts(';;\n-- nothing\n')).toEqual([]);
    expect(texts('SELECT 1;\n-- trailing comment')).toEqual(['SELECT 1;']);
  });

  it('finds the statement at an offset and tells whether a script needs a final semicolon', () => {
    const sql = 'SELECT 1;\nSELEC 2;\nSELECT 3;';
    const statements = splitStatements(sql);
    expect(statementAt(statements, sql.indexOf('SELEC 2'))?.line).toBe(2);
    expect(statementAt(statements, sql.indexOf('2;'))?.text).toBe('SELEC 2;');
    expect(needsTerminator('SELECT 1;\n-- done')).toBe(false);
    expect(needsTerminator('SELECT 1\n-- done')).toBe(true);
    expect(needsTerminator('')).toBe(false);
  });
});
