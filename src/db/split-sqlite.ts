/**
 * Splits an SQLite script into statements by SQLite's own rule, the state machine of
 * `sqlite3_complete()` (the function the `sqlite3` shell uses to decide that a statement is
 * complete): semicolons end a statement unless they are inside a string, a quoted identifier,
 * a comment, or the `BEGIN ... END;` body of a `CREATE [TEMP] TRIGGER`.
 *
 * SQLite drivers run one statement per call (libsql silently ignores the rest of a script),
 * so every script is run statement by statement with this splitter.
 */
import { statementCollector, type Statement } from './split.js';

const enum Token {
  Semi,
  Ws,
  Other,
  Explain,
  Create,
  Temp,
  Trigger,
  End,
}

// States: 0 invalid, 1 start, 2 normal, 3 explain, 4 create, 5 trigger, 6 semi (in a trigger), 7 end.
// Rows: state; columns: token. Copied from sqlite3_complete() in SQLite's complete.c.
const TRANSITIONS: number[][] = [
  [1, 0, 2, 3, 4, 2, 2, 2],
  [1, 1, 2, 3, 4, 2, 2, 2],
  [1, 2, 2, 2, 2, 2, 2, 2],
  [1, 3, 3, 2, 4, 2, 2, 2],
  [1, 4, 2, 2, 2, 4, 5, 2],
  [6, 5, 5, 5, 5, 5, 5, 5],
  [6, 6, 5, 5, 5, 5, 5, 7],
  [1, 7, 5, 5, 5, 5, 5, 5],
];

const isIdChar = (c: string) => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80;

function keyword(word: string): Token {
  switch (word.toUpperCase()) {
    case 'EXPLAIN':
      return Token.Explain;
    case 'CREATE':
      return Token.Create;
    case 'TEMP':
    case 'TEMPORARY':
      return Token.Temp;
    case 'TRIGGER':
      return Token.Trigger;
    case 'END':
      return Token.End;
    default:
      return Token.Other;
  }
}

/**
 * @example
 *   splitSqliteStatements('CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; END;\nSELECT 1;').length; // 2
 */
export function splitSqliteStatements(script: string): Statement[] {
  const collector = statementCollector(script);
  const n = script.length;
  let state = 0;
  let hasCode = false;

  const push = (endExclusive: number, terminated: boolean) => {
    collector.end(endExclusive, terminated, hasCode);
    hasCode = false;
  };

  let i = 0;
  while (i < n) {
    const c = script[i]!;
    let token: Token;
    let next: number;
    if (c === ';') {
      token = Token.Semi;
      next = i + 1;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') {
      token = Token.Ws;
      next = i + 1;
    } else if (c === '-' && script[i + 1] === '-') {
      token = Token.Ws;
      const eol = script.indexOf('\n', i);
      next = eol === -1 ? n : eol + 1;
    } else if (c === '/' && script[i + 1] === '*') {
      token = Token.Ws;
      const close = script.indexOf('*/', i + 2);
      next = close === -1 ? n : close + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      token = Token.Other;
      // A doubled quote inside is an escaped quote: skipping to the next quote twice handles it.
      const close = script.indexOf(c, i + 1);
      next = close === -1 ? n : close + 1;
    } else if (c === '[') {
      token = Token.Other;
      const close = script.indexOf(']', i + 1);
      next = close === -1 ? n : close + 1;
    } else if (isIdChar(c) && !/[0-9$]/.test(c)) {
      let j = i + 1;
      while (j < n && isIdChar(script[j]!)) j++;
      token = keyword(script.slice(i, j));
      next = j;
    } else {
      token = Token.Other;
      next = i + 1;
    }
    if (token !== Token.Ws && token !== Token.Semi) hasCode = true;
    state = TRANSITIONS[state]![token]!;
    if (token === Token.Semi && state === 1) push(next, true);
    i = next;
  }
  push(n, false);
  return collector.statements;
}
