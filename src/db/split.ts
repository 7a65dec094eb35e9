/**
 * Splits a PostgreSQL script into statements the way psql does: semicolons end a statement
 * unless they are inside a string, a quoted identifier, a dollar-quoted body, a comment,
 * parentheses, or a `BEGIN ATOMIC ... END` function body.
 *
 * The runner sends every migration this way, one statement per round trip, as psql does: the
 * statement that fails is then the one the server answered with an error (nothing is run twice
 * to find it), CREATE INDEX CONCURRENTLY runs outside a multi-statement query, and servers that
 * refuse several commands in one query (Citus on distributed tables) run migrations unchanged.
 * Because psql splits `--sql` output with the same rules, what it runs is what `migrate` runs.
 */

export interface Statement {
  /** The statement without surrounding blank lines, including its `;` when present. */
  text: string;
  /** Offset of the first character of `text` in the script. */
  start: number;
  /** Offset just after the end of `text`. */
  end: number;
  /** 1-based line of `start`. */
  line: number;
  /** Whether a `;` ended it (false only for a last statement without one). */
  terminated: boolean;
}

/** A dialect's statement splitter (PostgreSQL: `splitStatements`; SQLite: `splitSqliteStatements`). */
export type Splitter = (script: string) => Statement[];

/**
 * What both splitters share: they find where statements end; this turns each segment that
 * holds code into a Statement (trimmed text, offsets, line).
 */
export function statementCollector(script: string): { statements: Statement[]; end(endExclusive: number, terminated: boolean, hasCode: boolean): void } {
  const statements: Statement[] = [];
  let segmentStart = 0;
  // Line numbers are counted forward from the previous statement, not from the top each time.
  let counted = 0;
  let line = 1;
  return {
    statements,
    end(endExclusive, terminated, hasCode) {
      if (hasCode) {
        const raw = script.slice(segmentStart, endExclusive);
        const lead = raw.length - raw.trimStart().length;
        const text = raw.trim();
        const start = segmentStart + lead;
        for (; counted < start; counted++) if (script.charCodeAt(counted) === 10) line++;
        statements.push({ text, start, end: start + text.length, line, terminated });
      }
      segmentStart = endExclusive;
    },
  };
}

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/**
 * @example
 *   splitStatements('CREATE TABLE a (id int);\nSELECT 1;').map((s) => s.text);
 *   // ['CREATE TABLE a (id int);', 'SELECT 1;']
 */
export function splitStatements(script: string): Statement[] {
  const collector = statementCollector(script);
  const n = script.length;
  let i = 0;
  let parens = 0;
  // `BEGIN ATOMIC ... END` bodies (SQL-standard function bodies) contain semicolons; psql
  // counts BEGIN/CASE against END inside CREATE FUNCTION/PROCEDURE, and so do we.
  let blockDepth = 0;
  let words: string[] = [];
  let hasCode = false;

  const push = (endExclusive: number, terminated: boolean) => {
    collector.end(endExclusive, terminated, hasCode);
    parens = 0;
    blockDepth = 0;
    words = [];
    hasCode = false;
  };

  while (i < n) {
    const c = script[i]!;
    const next = script[i + 1];
    if (c === '-' && next === '-') {
      const eol = script.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (script[i] === '/' && script[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (script[i] === '*' && script[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c !== ';' || parens > 0 || blockDepth > 0) hasCode = true;
    if (c === "'") {
      const escapes = i > 0 && (script[i - 1] === 'E' || script[i - 1] === 'e') && (i < 2 || !IDENT_CHAR.test(script[i - 2]!));
      i = skipQuoted(script, i, "'", escapes);
      continue;
    }
    if (c === '"') {
      i = skipQuoted(script, i, '"', false);
      continue;
    }
    if (c === '$' && (i === 0 || !IDENT_CHAR.test(script[i - 1]!))) {
      const m = DOLLAR_TAG.exec(script.slice(i, i + 128));
      if (m) {
        const tag = m[0];
        const close = script.indexOf(tag, i + tag.length);
        i = close === -1 ? n : close + tag.length;
        continue;
      }
    }
    if (c === '(') parens++;
    else if (c === ')') parens = Math.max(0, parens - 1);
    else if (c === ';' && parens === 0 && blockDepth === 0) {
      push(i + 1, true);
      i++;
      continue;
    } else if (/[A-Za-z_]/.test(c) && (i === 0 || !IDENT_CHAR.test(script[i - 1]!))) {
      let j = i + 1;
      while (j < n && IDENT_CHAR.test(script[j]!)) j++;
      const word = script.slice(i, j).toUpperCase();
      if (words.length < 6) words.push(word);
      if (isRoutine(words)) {
        if (word === 'BEGIN' || word === 'CASE') blockDepth++;
        else if (word === 'END' && blockDepth > 0) blockDepth--;
      }
      i = j;
      continue;
    }
    i++;
  }
  push(n, false);
  return collector.statements;
}

function isRoutine(words: string[]): boolean {
  if (words[0] !== 'CREATE') return false;
  const rest = words[1] === 'OR' && words[2] === 'REPLACE' ? words[3] : words[1];
  return rest === 'FUNCTION' || rest === 'PROCEDURE';
}

function skipQuoted(script: string, open: number, quote: string, backslashEscapes: boolean): number {
  let i = open + 1;
  while (i < script.length) {
    const c = script[i]!;
    if (backslashEscapes && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (script[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return script.length;
}

/** The statement containing `offset` (0-based), or the nearest one before it. */
export function statementAt(statements: Statement[], offset: number): Statement | undefined {
  let found: Statement | undefined;
  for (const s of statements) {
    if (s.start <= offset) found = s;
    else break;
  }
  return found;
}

/** Whether appending SQL after `script` would continue its last statement (no final `;`). */
export function needsTerminator(script: string, split: Splitter = splitStatements): boolean {
  const statements = split(script);
  const last = statements.at(-1);
  return last !== undefined && !last.terminated;
}

/** A statement's code without the comments before it, and the line where that code starts. */
export function codeOf(statement: Statement): { text: string; line: number } {
  const t = statement.text;
  let i = 0;
  let line = statement.line;
  while (i < t.length) {
    const c = t[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && t[i + 1] === '-') {
      const eol = t.indexOf('\n', i);
      i = eol === -1 ? t.length : eol;
    } else if (c === '/' && t[i + 1] === '*') {
      const close = t.indexOf('*/', i + 2);
      const stop = close === -1 ? t.length : close + 2;
      for (let k = i; k < stop; k++) if (t[k] === '\n') line++;
      i = stop;
    } else break;
  }
  return { text: t.slice(i), line };
}

// SQLite's BEGIN takes DEFERRED / IMMEDIATE / EXCLUSIVE.
const TRANSACTION_CONTROL = /^(?:BEGIN(?:\s+(?:DEFERRED|IMMEDIATE|EXCLUSIVE))?|START\s+TRANSACTION|COMMIT|END)(?:\s+(?:TRANSACTION|WORK))?\s*;?$/i;

/**
 * Statements that end the transaction a migration runs in and that cannot simply be blanked
 * out: `ROLLBACK`/`ABORT` (but not `ROLLBACK TO SAVEPOINT`), `... AND CHAIN`, `PREPARE
 * TRANSACTION`. Left in, the rest of the script and its history row would commit on their own.
 */
const TRANSACTION_ENDING =
  /^(?:(?:ROLLBACK|ABORT)(?:\s+(?:TRANSACTION|WORK))?(?:\s+AND\s+(?:NO\s+)?CHAIN)?|(?:COMMIT|END)(?:\s+(?:TRANSACTION|WORK))?\s+AND\s+CHAIN|PREPARE\s+TRANSACTION\b.*)\s*;?$/is;

/** Top-level statements of a script that would end the transaction it runs in (see above). */
export function transactionEndingStatements(script: string, split: Splitter = splitStatements): { line: number; text: string }[] {
  return split(script)
    .map(codeOf)
    .filter((s) => TRANSACTION_ENDING.test(s.text));
}

/**
 * Blanks out top-level `BEGIN;` / `COMMIT;` statements of a script that runs inside our own
 * transaction, keeping every other character at its offset (statements keep their lines). Prisma's engine writes such a block when it removes enum values; left in,
 * its COMMIT would end our transaction early and the rest of the migration, and its history row,
 * would no longer be atomic with it. Our transaction already groups the whole script.
 */
export function withoutTransactionControl(script: string, split: Splitter = splitStatements): string {
  let out: string | null = null;
  for (const s of split(script)) {
    if (!TRANSACTION_CONTROL.test(codeOf(s).text)) continue;
    out ??= script;
    out = out.slice(0, s.start) + s.text.replace(/[^\n]/g, ' ') + out.slice(s.end);
  }
  return out ?? script;
}
