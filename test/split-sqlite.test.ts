import { describe, expect, it } from 'vitest';
import { splitSqliteStatements } from '../src/db/split-sqlite.js';

const texts = (script: string) => splitSqliteStatements(script).map((s) => s.text);

describe('SQLite statement splitter (sqlite3_complete rules)', () => {
  it.each([
    ['plain statements', 'CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);', ['CREATE TABLE a (id int);', 'INSERT INTO a VALUES (1);']],
    [
      'a trigger body with several statements',
      'CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  INSERT INTO b VALUES (new.id);\n  DELETE FROM c;\nEND;\nSELECT 1;',
      ['CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  INSERT INTO b VALUES (new.id);\n  DELETE FROM c;\nEND;', 'SELECT 1;'],
    ],
    [
      'a temporary trigger with CASE ... END inside',
      'CREATE TEMP TRIGGER t BEFORE UPDATE ON a BEGIN UPDATE b SET x = CASE WHEN new.id > 1 THEN 1 ELSE 0 END; END; SELECT 2;',
      ['CREATE TEMP TRIGGER t BEFORE UPDATE ON a BEGIN UPDATE b SET x = CASE WHEN new.id > 1 THEN 1 ELSE 0 END; END;', 'SELECT 2;'],
    ],
    ['semicolons in strings and quoted names', `INSERT INTO "a;b" VALUES ('x;y', 'it''s;');\nSELECT [c;d], \`e;f\` FROM t;`, [`INSERT INTO "a;b" VALUES ('x;y', 'it''s;');`, 'SELECT [c;d], `e;f` FROM t;']],
    ['semicolons in comments', '-- one; two\nSELECT 1; /* a; b */ SELECT 2;', ['-- one; two\nSELECT 1;', '/* a; b */ SELECT 2;']],
    ['BEGIN ... COMMIT are statements of their own', 'BEGIN;\nSELECT 1;\nCOMMIT;', ['BEGIN;', 'SELECT 1;', 'COMMIT;']],
    ['a last statement without a semicolon', 'SELECT 1;\nSELECT 2', ['SELECT 1;', 'SELECT 2']],
    ['empty statements and trailing comments are dropped', ';;\nSELECT 1;\n-- the end\n', ['SELECT 1;']],
    ['a table named trigger is no trigger', 'CREATE TABLE "trigger" (id int); SELECT 1;', ['CREATE TABLE "trigger" (id int);', 'SELECT 1;']],
  ])('%s', (_name, script, expected) => {
    expect(texts(script)).toEqual(expected);
  });

  it('reports offsets, lines and whether a semicolon ended each statement', () => {
    const script = 'SELECT 1;\n\n  -- c\n  SELECT 2';
    const [a, b] = splitSqliteStatements(script);
    expect(a).toEqual({ text: 'SELECT 1;', start: 0, end: 9, line: 1, terminated: true });
    expect(b).toMatchObject({ text: '-- c\n  SELECT 2', line: 3, terminated: false });
    expect(script.slice(b!.start, b!.end)).toBe(b!.text);
  });
});
