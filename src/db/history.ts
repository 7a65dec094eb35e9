import { databaseErrorFields } from '../errors.js';
import type { Driver } from './driver.js';
import { timestampFromText } from './postgres-dialect.js';

/** One row of a Prisma Migrate history table (`_prisma_migrations` or an extension's copy). */
export interface HistoryRow {
  owner: string;
  id: string;
  checksum: string;
  finishedAt: Date | null;
  migrationName: string;
  logs: string | null;
  rolledBackAt: Date | null;
  startedAt: Date;
  appliedStepsCount: number;
}

/** What the database says, for a set of owners: which history tables exist and their rows. */
export interface HistorySnapshot {
  /** The schema the history tables live in (the driver's `schema`). */
  schema: string;
  existingTables: Set<string>;
  rows: HistoryRow[];
}

export const EMPTY_HISTORY: HistorySnapshot = { schema: 'public', existingTables: new Set(), rows: [] };

interface RawRow {
  owner: string;
  id: string;
  checksum: string;
  finished_at: Date | string | number | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | string | number | null;
  started_at: Date | string | number;
  applied_steps_count: number | string;
}

/** Drivers return timestamps as Date objects, as PostgreSQL's text (COPY), or as SQLite's milliseconds. */
function toDate(v: Date | string | number | bigint | null): Date | null {
  if (v === null || v instanceof Date) return v;
  if (typeof v === 'number' || typeof v === 'bigint') return new Date(Number(v));
  const parsed = timestampFromText(v);
  return parsed instanceof Date ? parsed : new Date(v);
}

/**
 * Reads every owner's history in two round trips, however many owners there are (a no-op
 * `migrate` in a container entrypoint should cost little more than starting Node).
 *
 * @example
 *   const { rows } = await readHistory(db, project.owners.map((o) => ({ owner: o.name, table: o.historyTable })));
 */
export async function readHistory(db: Driver, tables: { owner: string; table: string }[]): Promise<HistorySnapshot> {
  const schema = db.schema;
  if (tables.length === 0) return { ...EMPTY_HISTORY, schema };
  const names = [...new Set(tables.map((t) => t.table))];
  // Usually every table exists (a database migrated before): then one round trip does it.
  let raw: RawRow[] | null = null;
  let existingTables = new Set(names);
  try {
    raw = await selectRows(db, tables);
  } catch (error) {
    if (databaseErrorFields(error).code !== db.dialect.undefinedTableCode) throw error;
  }
  if (raw === null) {
    const existing = await db.query<{ name: string }>(db.dialect.existingTablesQuery, [names, schema]);
    existingTables = new Set(existing.map((r) => r.name));
    const present = tables.filter((t) => existingTables.has(t.table));
    raw = present.length === 0 ? [] : await selectRows(db, present);
  }
  const rows = raw.map(
    (r): HistoryRow => ({
      owner: r.owner,
      id: r.id,
      checksum: r.checksum,
      finishedAt: toDate(r.finished_at),
      migrationName: r.migration_name,
      logs: r.logs,
      rolledBackAt: toDate(r.rolled_back_at),
      startedAt: toDate(r.started_at)!,
      appliedStepsCount: Number(r.applied_steps_count),
    }),
  );
  return { schema, existingTables, rows };
}

/** The rows of the given tables, each with its owner, in one query. */
async function selectRows(db: Driver, tables: { owner: string; table: string }[]): Promise<RawRow[]> {
  const named = tables.map((t) => ({ owner: t.owner, table: { schema: db.schema, name: t.table } }));
  return db.query<RawRow & Record<string, unknown>>(db.dialect.selectHistory(named));
}
