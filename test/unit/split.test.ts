import { describe, expect, it } from 'vitest';
import { codeOf, splitStatements, transactionEndingStatements, withoutTransactionControl } from '../../src/db/split.js';

describe('splitStatements (table)', () => {
  const cases: [string, string, [string, number][]][] = [
    ['one statement without a semicolon', 'SELECT 1', [['SELECT 1', 1]]],
    ['blank lines between statements', 'SELECT 1;\n\n\nSELECT 2;', [['SELECT 1;', 1], ['SELECT 2;', 4]]],
    ['a semicolon in a string', "SELECT ';';\nSELECT 2;", [["SELECT ';';", 1], ['SELECT 2;', 2]]],
    ['a semicolon in a quoted identifier', 'CREATE TABLE "a;b" (id int);', [['CREATE TABLE "a;b" (id int);', 1]]],
    ['a tagged dollar-quoted body', 'DO $x$ BEGIN PERFORM 1; END $x$;\nSELECT 1;', [['DO $x$ BEGIN PERFORM 1; END $x$;', 1], ['SELECT 1;', 2]]],
    ['a line comment keeps its statement', '-- note; here\nSELECT 1;', [['-- note; here\nSELECT 1;', 1]]],
    ['nested block comments', '/* a /* b; */ c; */ SELECT 1;', [['/* a /* b; */ c; */ SELECT 1;', 1]]],
    ['parentheses', 'SELECT (1;\n2);', [['SELECT (1;\n2);', 1]]],
    [
      'a BEGIN ATOMIC function body',
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT 3;',
      [['CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;', 1], ['SELECT 3;', 2]],
    ],
    ['nothing but whitespace', '  \n\n', []],
  ];
  it.each(cases)('%s', (_name, sql, expected) => {
    expect(splitStatements(sql).map((s) => [s.text, s.line])).toEqual(expected);
  });
});

describe('codeOf', () => {
  it.each([
    ['SELECT 1;', 1, 'SELECT 1;', 1],
    ['-- why\n-- more\nSELECT 1;', 3, 'SELECT 1;', 5],
    ['/* a\nb */ SELECT 1;', 1, 'SELECT 1;', 2],
  ])('%j at line %i → %j at line %i', (text, line, code, codeLine) => {
    expect(codeOf({ text, start: 0, end: text.length, line, terminated: true })).toEqual({ text: code, line: codeLine });
  });
});

describe('transaction control', () => {
  it.each([
    ['ROLLBACK;', true],
    ['abort work;', true],
    ['COMMIT AND CHAIN;', true],
    ["PREPARE TRANSACTION 'x';", true],
    ['ROLLBACK TO SAVEPOINT s;', false],
    ['COMMIT;', false],
    ['BEGIN;', false],
    ["SELECT 'ROLLBACK;';", false],
  ])('%s ends the transaction: %s', (sql, ends) => {
    expect(transactionEndingStatements(`SELECT 1;\n${sql}\n`).map((s) => s.line)).toEqual(ends ? [2] : []);
  });

  it('blanks BEGIN/COMMIT keeping every other character at its offset', () => {
    const sql = 'BEGIN;\nCREATE TABLE a (id int);\nCOMMIT;\n';
    const out = withoutTransactionControl(sql);
    expect(out).toBe('      \nCREATE TABLE a (id int);\n       \n');
    expect(out.length).toBe(sql.length);
    expect(withoutTransactionControl('SELECT 1;')).toBe('SELECT 1;');
  });
});
