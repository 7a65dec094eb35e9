/** Plain objects for the pure core: owners, migration folders and history rows, no disk. */
import type { HistoryRow, HistorySnapshot } from '../../src/db/history.js';
import { checksumOf, parseDirectives, type MigrationFiles } from '../../src/migrations/folder.js';
import type { Owner } from '../../src/project/project.js';

export function owner(name: string, dependsOn: string[] = []): Owner {
  const core = name === 'core';
  return {
    kind: core ? 'core' : 'extension',
    name,
    schemaPath: core ? '/app/prisma/schema.prisma' : `/app/extensions/${name}/schema.prisma`,
    migrationsDir: core ? '/app/prisma/migrations' : `/app/extensions/${name}/migrations`,
    historyTable: core ? '_prisma_migrations' : `_prisma_migrations_${name}`,
    dependsOn,
    description: null,
  };
}

/** A migration folder; `sql` may start with `-- orchestrate:` directives, as on disk. */
export function folder(o: Owner, name: string, sql = `CREATE TABLE t_${name.slice(15)} (id int);\n`, down: string | null = 'SELECT 1;\n'): MigrationFiles {
  const { noTransaction, requires } = parseDirectives(sql);
  const dir = `${o.migrationsDir}/${name}`;
  return { name, dir, sql, checksum: checksumOf(sql), down, snapshotPath: `${dir}/snapshot.prisma`, noTransaction, requires };
}

let clock = Date.UTC(2025, 0, 1);

/** A history row; `applied` (the default) is finished, `failed` is neither finished nor rolled back. */
export function row(o: Owner, migration: string, checksum: string, kind: 'applied' | 'failed' | 'rolled-back' = 'applied'): HistoryRow {
  const startedAt = new Date((clock += 1000));
  return {
    owner: o.name,
    id: `${o.name}-${migration}-${clock}`,
    checksum,
    finishedAt: kind === 'applied' ? new Date(clock + 10) : null,
    migrationName: migration,
    logs: null,
    rolledBackAt: kind === 'rolled-back' ? new Date(clock + 20) : null,
    startedAt,
    appliedStepsCount: 1,
  };
}

export function history(rows: HistoryRow[], tables: string[] = [...new Set(rows.map((r) => (r.owner === 'core' ? '_prisma_migrations' : `_prisma_migrations_${r.owner}`)))]): HistorySnapshot {
  return { schema: 'public', existingTables: new Set(tables), rows };
}

/** Ids in order, so plans compare exactly. */
export function ids(): () => string {
  let n = 0;
  return () => `id-${++n}`;
}
