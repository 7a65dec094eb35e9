import { readdirSync, readFileSync, type Dirent } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UsageError } from '../errors.js';

const require = createRequire(import.meta.url);

/** File names inside one migration directory (Prisma Migrate's convention plus ours). */
export const MIGRATION_SQL = 'migration.sql';
export const DOWN_SQL = 'down.sql';
export const SNAPSHOT = 'snapshot.prisma';
export const LOCK_FILE = 'migration_lock.toml';

export const NO_TRANSACTION = '-- orchestrate:no-transaction';
const REQUIRES = /^-- orchestrate:requires ([a-z][a-z0-9_]{0,39}) (\S+)\s*$/;
const PARENT = /^-- orchestrate:parent (\S+)\s*$/;

export interface Requirement {
  owner: string;
  migration: string;
}

export interface MigrationFiles {
  /** Directory name, e.g. `20250101120000_add_invoices`. */
  name: string;
  dir: string;
  sql: string;
  /** SHA-256 hex of migration.sql, exactly as Prisma Migrate computes it. */
  checksum: string;
  down: string | null;
  snapshotPath: string;
  /** `-- orchestrate:no-transaction` opens the file (first line, or among its leading comment lines). */
  noTransaction: boolean;
  /** Migrations of other owners this one was generated against. */
  requires: Requirement[];
  /**
   * The migrations of the same owner this one was generated from (`-- orchestrate:parent`
   * lines; two for a merge). Empty or absent when the file names none: it then follows the
   * previous folder.
   */
  parents?: string[];
}

let createHash: typeof import('node:crypto').createHash | undefined;

/**
 * SHA-256 hex of a file's bytes (a string counts as its UTF-8 encoding). node:crypto is loaded
 * on the first call rather than imported: on `migrate`, that call comes after the database
 * connection is under way, so its ~2.5 ms load overlaps the server's answer.
 */
export function checksumOf(sql: string | Buffer): string {
  createHash ??= (require('node:crypto') as typeof import('node:crypto')).createHash;
  return createHash('sha256').update(sql).digest('hex');
}

/** Reads the `-- orchestrate:` directives at the top of a migration.sql. */
export function parseDirectives(sql: string): { noTransaction: boolean; requires: Requirement[]; parents: string[] } {
  // The marker is the first line, or any line of the leading comment block: extension
  // migrations begin with the `requires` lines revision writes. Only that block is scanned
  // (a no-op `migrate` reads every migration of every owner).
  let noTransaction = false;
  const requires: Requirement[] = [];
  const parents: string[] = [];
  for (let start = 0; start < sql.length && sql.startsWith('--', start); ) {
    const eol = sql.indexOf('\n', start);
    const end = eol === -1 ? sql.length : eol;
    const line = sql.slice(start, end).replace(/\r$/, '');
    start = end + 1;
    if (line.trim() === NO_TRANSACTION) noTransaction = true;
    const m = REQUIRES.exec(line);
    if (m) requires.push({ owner: m[1]!, migration: m[2]! });
    const parent = PARENT.exec(line);
    if (parent) parents.push(parent[1]!);
  }
  return { noTransaction, requires, parents };
}

/**
 * Lists an owner's migrations in apply order (directory name order, as Prisma Migrate does).
 * A missing folder means no migrations. A directory without migration.sql is an input error.
 */
export function readMigrations(migrationsDir: string, options: { strictNames?: boolean } = {}): MigrationFiles[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(migrationsDir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  // Dot folders are not migrations: `.orchestrate-tmp-*` is a migration `revision` is still writing.
  const dirs = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  // Prisma Migrate applies any folder name in sorted order, and real histories use names like
  // `01_init`: those are applied as Prisma would, and only `check` (strictNames) flags them. A name
  // with spaces or control characters is refused everywhere.
  const misnamed = dirs.filter((name) => !(options.strictNames ? MIGRATION_NAME : PRISMA_MIGRATION_NAME).test(name));
  if (misnamed.length > 0) throw misnamedError(migrationsDir, misnamed);
  // Joined by hand below: path.join on every file is a measurable part of a no-op `migrate`.
  const base = path.join(migrationsDir);
  return dirs.map((name) => readMigration(base, name));
}

function readMigration(migrationsDir: string, name: string): MigrationFiles {
  const dir = `${migrationsDir}${path.sep}${name}`;
  const sqlPath = `${dir}${path.sep}${MIGRATION_SQL}`;
  let sql: string;
  try {
    // As text: one call into the runtime, where reading to a Buffer is four (a no-op `migrate`
    // reads every migration of every owner).
    sql = readFileSync(sqlPath, 'utf8');
  } catch {
    const message = `${dir} has no ${MIGRATION_SQL}; every migration directory needs one (delete the directory if it is not a migration).`;
    throw new UsageError(message, { problems: [{ code: 'migrations', migration: name, file: dir, message }] });
  }
  // The checksum is over the file's bytes, which the decoded text encodes back to (checked).
  return new MigrationFolder(name, dir, assertUtf8(sqlPath, sql), checksumOf(sql));
}

const REPLACEMENT = Buffer.from('\uFFFD', 'utf8');

/**
 * Refuses a file that is not valid UTF-8, naming the first bad byte: PostgreSQL and psql read
 * migrations as UTF-8, and decoding would silently turn those bytes into U+FFFD. Decoding marks
 * every bad byte with U+FFFD, so only a text holding one needs its bytes compared; the first byte
 * where the text encodes differently from the file is the first bad one.
 */
export function assertUtf8(file: string, text: string): string {
  if (!text.includes('\uFFFD')) return text;
  const bytes = readFileSync(file);
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.equals(bytes)) return text;
  let offset = 0;
  while (offset < bytes.length && bytes[offset] === encoded[offset]) offset++;
  // A character cut short after EF or EF BF matches the start of U+FFFD's own encoding
  // (EF BF BD): the bad sequence then starts one or two bytes before the first difference.
  for (const back of [1, 2]) {
    if (offset >= back && encoded.subarray(offset - back, offset - back + 3).equals(REPLACEMENT)) {
      offset -= back;
      break;
    }
  }
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 10) line++;
  const message = `${file} is not valid UTF-8: the byte 0x${bytes[offset]!.toString(16).padStart(2, '0')} at byte offset ${offset} (line ${line}) is not part of a UTF-8 character; save the file as UTF-8 (e.g. \`iconv -f latin1 -t utf-8\`) before running anything, as psql would refuse it too.`;
  throw new UsageError(message, { problems: [{ code: 'encoding', migration: path.basename(path.dirname(file)), file, line, message }] });
}

/** One migration directory as read from disk; down.sql is read on first use. */
class MigrationFolder implements MigrationFiles {
  readonly snapshotPath: string;
  readonly noTransaction: boolean;
  readonly requires: Requirement[];
  readonly parents: string[];
  // `migrate` in a container entrypoint reads every owner's folders on each start and never
  // needs down.sql (a class rather than a getter per object: cheaper on 500 of them).
  #down: string | null | undefined;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly sql: string,
    readonly checksum: string,
  ) {
    this.snapshotPath = `${dir}${path.sep}${SNAPSHOT}`;
    const directives = parseDirectives(sql);
    this.noTransaction = directives.noTransaction;
    this.requires = directives.requires;
    this.parents = directives.parents;
  }

  get down(): string | null {
    if (this.#down === undefined) {
      try {
        this.#down = readFileSync(`${this.dir}${path.sep}${DOWN_SQL}`, 'utf8');
      } catch {
        this.#down = null;
      }
      if (this.#down !== null) assertUtf8(`${this.dir}${path.sep}${DOWN_SQL}`, this.#down);
    }
    return this.#down;
  }
}

/**
 * A migration directory's name: `<UTC YYYYMMDDHHMMSS>_<slug>`, as Prisma Migrate writes it. The
 * timestamp orders migrations; a folder named otherwise would sort anywhere (`zzz` runs last).
 */
export const MIGRATION_NAME = /^\d{14}_[A-Za-z0-9_-]+$/;

/** A name Prisma Migrate's own histories use and that is safe in messages and SQL literals. */
const PRISMA_MIGRATION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A migrations folder holds directories that are not named `<timestamp>_<slug>`. */
export class MisnamedMigrationsError extends UsageError {
  constructor(
    message: string,
    readonly migrationsDir: string,
    readonly names: string[],
  ) {
    super(message, { code: 'migration-name' });
  }
}

export function misnamedError(migrationsDir: string, names: string[]): MisnamedMigrationsError {
  const shown = names.slice(0, 5).map((n) => JSON.stringify(n)).join(', ') + (names.length > 5 ? `, and ${names.length - 5} more` : '');
  const example = `${timestamp(new Date())}_${slugify(names[0]!) || 'migration'}`;
  return new MisnamedMigrationsError(
    `${migrationsDir} holds ${names.length === 1 ? 'a folder' : 'folders'} not named like a migration (<UTC YYYYMMDDHHMMSS>_<name>, letters, digits, _ and -): ${shown}; rename ${names.length === 1 ? 'it' : 'each'} (e.g. ${example}) or move ${names.length === 1 ? 'it' : 'them'} out of the migrations folder, so that nothing is applied in the wrong order.`,
    migrationsDir,
    names,
  );
}

/** `YYYYMMDDHHMMSS` in UTC, as Prisma Migrate names its directories. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * A new migration directory name that sorts after every existing one, even when the clock
 * says otherwise (two revisions within one second, or a clock behind a teammate's).
 */
export function nextMigrationName(existing: string[], slug: string, now: Date = new Date()): string {
  let stamp = timestamp(now);
  const latest = existing.map((n) => n.slice(0, 14)).filter((s) => /^\d{14}$/.test(s)).sort().at(-1);
  if (latest && stamp <= latest) {
    const y = Number(latest.slice(0, 4));
    const d = new Date(Date.UTC(y, Number(latest.slice(4, 6)) - 1, Number(latest.slice(6, 8)), Number(latest.slice(8, 10)), Number(latest.slice(10, 12)), Number(latest.slice(12, 14)) + 1));
    stamp = timestamp(d);
  }
  return `${stamp}_${slug}`;
}

/** Turns `-m "Add invoices!"` into `add_invoices`, as Prisma does with migration names. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 80);
  return slug;
}

export function lockFileContent(provider: string): string {
  return `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${provider}"\n`;
}
