/**
 * Owners whose schema changed since their latest migration, found without the schema engine:
 * the schema is compared with the snapshot that migration recorded. Equal texts (the usual case
 * on a deployed app) cost one file read each; only when they differ are both parsed, and compared
 * with comments, blank lines, datasource/generator blocks and field order left out, so that
 * reformatting or a new comment is not reported as a change.
 */
import { readSchemaPath } from './files.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MigrationFiles } from '../migrations/folder.js';
import type { Owner, Project } from '../project/project.js';

export interface SchemaChange {
  owner: string;
  /** `changed`: differs from the latest snapshot; `no-migration`: declares models but has no migration. */
  reason: 'changed' | 'no-migration';
  /** Project-relative schema path. */
  schema: string;
  /** The command that writes the missing migration. */
  command: string;
}

type Ast = { type: string; name?: string; list?: Ast[]; properties?: Ast[]; enumerators?: Ast[]; [key: string]: unknown };

/** Blocks that describe tables or types (what a migration is about). */
const SCHEMA_BLOCKS = new Set(['model', 'enum', 'view', 'type']);

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function readSchemaOrNull(root: string, schemaPath: string): string | null {
  try {
    return readSchemaPath(root, schemaPath).text;
  } catch {
    return null;
  }
}

/** `--core` or `--extension <name>`. */
export const ownerFlag = (owner: Owner) => (owner.kind === 'core' ? '--core' : `--extension ${owner.name}`);

/**
 * The selected owners whose schema has changes no migration covers. Owners whose latest
 * migration has no snapshot (an adopted Prisma history) or whose schema cannot be read or parsed
 * are left out: `revision` and `check` report those.
 *
 * @example
 *   const changes = await unmigratedChanges(project, project.owners, files);
 *   changes.map((c) => c.command); // ['orchestrate revision --extension billing -m <name>']
 */
export async function unmigratedChanges(project: Project, owners: Owner[], files: Map<string, MigrationFiles[]>): Promise<SchemaChange[]> {
  const differing: { owner: Owner; schema: string; snapshot: string | null }[] = [];
  for (const owner of owners) {
    const schema = readSchemaOrNull(project.settings.root, owner.schemaPath);
    if (schema === null) continue;
    const latest = files.get(owner.name)?.at(-1);
    if (!latest) {
      differing.push({ owner, schema, snapshot: null });
      continue;
    }
    const snapshot = readText(latest.snapshotPath);
    if (snapshot !== null && snapshot !== schema) differing.push({ owner, schema, snapshot });
  }
  if (differing.length === 0) return [];

  // Loaded only now: the parser is a measurable part of a start-up that finds nothing to compare.
  const { getSchema } = await import('@mrleebo/prisma-ast');
  const normalised = (text: string): string | null => {
    try {
      return JSON.stringify(getSchema(text).list.flatMap((block) => normaliseBlock(block as Ast)));
    } catch {
      return null;
    }
  };
  const changes: SchemaChange[] = [];
  for (const { owner, schema, snapshot } of differing) {
    const now = normalised(schema);
    if (now === null) continue;
    const rel = path.relative(project.settings.root, owner.schemaPath).split(path.sep).join('/');
    const command = `orchestrate revision ${ownerFlag(owner)} -m <name>`;
    if (snapshot === null) {
      if (now !== '[]') changes.push({ owner: owner.name, reason: 'no-migration', schema: rel, command });
      continue;
    }
    const before = normalised(snapshot);
    if (before !== null && before !== now) changes.push({ owner: owner.name, reason: 'changed', schema: rel, command });
  }
  return changes;
}

/** A block without comments and line breaks, fields sorted by name; nothing for non-schema blocks. */
function normaliseBlock(block: Ast): Ast[] {
  if (!SCHEMA_BLOCKS.has(block.type)) return [];
  const clean = (items: Ast[] | undefined) => (items ?? []).filter((p) => p.type !== 'comment' && p.type !== 'break').map(stripComments);
  const copy: Ast = { ...block };
  if (block.properties) {
    copy.properties = clean(block.properties).sort((a, b) => `${a.type}:${a.name ?? ''}`.localeCompare(`${b.type}:${b.name ?? ''}`));
  }
  if (block.enumerators) copy.enumerators = clean(block.enumerators);
  return [stripComments(copy)];
}

/** Trailing `// comments` of fields are kept by the parser as `comment` keys. */
function stripComments(node: Ast): Ast {
  const { comment: _comment, ...rest } = node;
  return rest as Ast;
}
