import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { readMigrations, type MigrationFiles } from '../migrations/folder.js';
import { transitiveDependencies, type Owner, type Project } from '../project/project.js';
import type { OwnerSource } from './compose.js';
import { isSchemaFolder, readSchemaPath } from './files.js';

/** Project-relative path with forward slashes, for messages and engine file names. */
export function relativePath(project: Project, file: string): string {
  return path.relative(project.settings.root, file).split(path.sep).join('/');
}

/** The line origins of the schema folders read so far, by the text read (see `ownerSource`). */
const folderOrigins = new Map<string, { text: string; origins: { path: string; line: number }[] }>();

/** An owner's schema as one text: its file, or its folder's `.prisma` files (see schema/files.ts). */
export function readSchemaText(project: Project, owner: Owner): string {
  try {
    const read = readSchemaPath(project.settings.root, owner.schemaPath);
    if (read.origins) folderOrigins.set(owner.schemaPath, { text: read.text, origins: read.origins });
    return read.text;
  } catch {
    const rel = relativePath(project, owner.schemaPath);
    const message =
      owner.kind === 'core'
        ? `The core schema ${rel} does not exist${isSchemaFolder(owner.schemaPath) ? ' (the folder holds no .prisma file)' : ''}; create it with a datasource block, or set "coreSchema" in orchestrate.config.json (or \`schema\` in prisma.config.ts).`
        : `Extension "${owner.name}" has no fragment: ${rel} does not exist; create it (models, enums, \`extend model\` blocks) or remove the extension folder.`;
    throw new UsageError(message, { problems: [{ code: 'schema', owner: owner.name, file: rel, message }] });
  }
}

/** Owners an owner may refer to: core and its transitive dependencies. */
export function visibleOwners(project: Project, owner: Owner): string[] {
  if (owner.kind === 'core') return [];
  return ['core', ...transitiveDependencies(owner, project).map((d) => d.name)];
}

export function ownerSource(project: Project, owner: Owner, text: string): OwnerSource {
  // The current text of a schema folder maps back to its files; any other text (a snapshot) is its own.
  const folder = folderOrigins.get(owner.schemaPath);
  const origins = folder && folder.text === text ? folder.origins : undefined;
  return {
    owner: owner.name,
    kind: owner.kind,
    visible: visibleOwners(project, owner),
    file: { owner: owner.name, path: relativePath(project, owner.schemaPath), text, ...(origins ? { origins } : {}) },
    manifestPath: owner.kind === 'extension' ? relativePath(project, path.join(path.dirname(owner.schemaPath), 'extension.json')) : undefined,
  };
}

/** What an owner's migrations produce, as recorded by the snapshot of its latest migration. */
export interface OwnerHistory {
  migrations: MigrationFiles[];
  /** Snapshot text of the latest migration, or null when the owner has no migrations. */
  snapshot: string | null;
}

export function readOwnerHistory(project: Project, owner: Owner, migrations: MigrationFiles[] = readMigrations(owner.migrationsDir)): OwnerHistory {
  const latest = migrations.at(-1);
  if (!latest) return { migrations, snapshot: null };
  if (!existsSync(latest.snapshotPath)) {
    const rel = relativePath(project, latest.dir);
    const message = `${rel} has no snapshot.prisma, so orchestrate cannot tell what ${owner.name}'s migrations produce; if they match the current schema, copy ${relativePath(project, owner.schemaPath)} to ${rel}/snapshot.prisma, or start over with \`orchestrate revision --${owner.kind === 'core' ? 'core' : `extension ${owner.name}`} --regenerate\`.`;
    throw new UsageError(message, { problems: [{ code: 'migrations', owner: owner.name, migration: latest.name, file: rel, message }] });
  }
  return { migrations, snapshot: readFileSync(latest.snapshotPath, 'utf8') };
}
