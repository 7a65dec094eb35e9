/**
 * "What an owner's migrations produce" as that owner's own schema text, the form a snapshot has:
 * replay the history into a shadow, introspect it with Prisma's engine (keeping the names the
 * schema gives), and keep only the owner's objects — core's whole file; an extension's models,
 * enums and the fields it adds to other owners' models (as `extend model` blocks).
 */
import { existsSync } from 'node:fs';
import { readMigrations, type MigrationFiles } from '../migrations/folder.js';
import type { Owner, Project } from '../project/project.js';
import { projectProvider } from '../project/provider.js';
import type { SchemaFile } from '../schema/compose.js';
import { parseSchemaFile, type ParsedBlock } from '../schema/parse.js';
import { readSchemaText, relativePath } from '../schema/sources.js';
import { world } from '../plan/revision.js';
import { openShadow, type ShadowDatabase } from './database.js';
import { startShadowEngine, type ShadowEngine } from './engine.js';
import { replayAll, replayChain, replayOwner, type Replay } from './replay.js';

export interface ReplaySession {
  /**
   * Replays `owner`'s history and returns its schema text as the migrations produce it.
   * `current` holds every owner's schema text (the names a re-introspection keeps).
   */
  produced(owner: Owner, current: Map<string, string>): Promise<Produced>;
  /** The engine on the shadow; its schema-to-schema diffs need no other engine. */
  engine: ShadowEngine;
  /** Replays every enabled owner's history; then `engine.diffTo` compares the shadow with a schema. */
  replayAll(): Promise<Replay>;
  close(): Promise<void>;
}

export interface Produced {
  text: string;
  replay: Replay;
}

/**
 * One shadow database and one engine for any number of replays.
 *
 * @example
 *   const session = await openReplaySession(project);
 *   try { const { text } = await session.produced(project.core, current); } finally { await session.close(); }
 */
export async function openReplaySession(project: Project, owners: Owner[] = project.owners, files?: Map<string, MigrationFiles[]>): Promise<ReplaySession> {
  const read = files ?? new Map(owners.map((o) => [o.name, readMigrations(o.migrationsDir)]));
  const scripts = [...read.values()].flat().map((m) => m.sql);
  const shadow: ShadowDatabase = await openShadow(projectProvider(project), scripts);
  let engine: ShadowEngine;
  try {
    engine = await startShadowEngine(shadow);
  } catch (error) {
    await shadow.close();
    throw error;
  }
  return {
    engine,
    replayAll: () => replayAll(project, shadow, files),
    async produced(owner, current) {
      const replay = await replayOwner(project, owner, shadow, files);
      const composed = world(project, owner, current, current.get(owner.name)!);
      const schema = composed ? composed.files : [{ path: relativePath(project, project.core.schemaPath), content: current.get(project.core.name)! }];
      let introspected = await engine.introspect(schema);
      // SQLite stores enums as TEXT: they exist only in schemas, and a replay cannot tell who
      // created one, so an owner's enums are the ones its schema declares.
      let ownEnums: Set<string> | null = null;
      if (shadow.provider === 'sqlite') {
        introspected = schemaEnums(owner, introspected, schema);
        ownEnums = new Set(declaredEnums(owner, current.get(owner.name)!));
      }
      const text = owner.kind === 'core' ? coreText(project, introspected) : extensionText(owner, introspected, replay, ownEnums);
      remembered.set(memoKey(project, owner, current, files), text);
      return { text, replay };
    },
    async close() {
      try {
        await engine.close();
      } finally {
        await shadow.close();
      }
    },
  };
}

function coreText(project: Project, files: { path: string; content: string }[]): string {
  const core = relativePath(project, project.core.schemaPath);
  // Re-introspection keeps each model in its file; core's world has one file.
  return (files.find((f) => f.path === core) ?? files[0]!).content;
}

/**
 * An extension's part of the introspected world: the models of tables and the enums its
 * migrations created (`ownEnums`: those its schema declares, where enums are no database
 * objects), and, for other owners' models, the fields of the columns it added and the relation
 * fields pointing at its models.
 */
function extensionText(owner: Owner, files: { path: string; content: string }[], replay: Replay, ownEnums: Set<string> | null): string {
  const created = (key: string) => replay.after.has(key) && !replay.before.has(key);
  const ownEnum = (block: ParsedBlock) => (ownEnums ? ownEnums.has(block.name) : created(`enum ${block.dbName}`));
  const blocks: { text: string; block: ParsedBlock }[] = [];
  for (const f of files) {
    const parsed = parseSchemaFile({ owner: owner.name, path: f.path, text: f.content });
    for (const block of parsed.blocks) blocks.push({ text: f.content, block });
  }
  const own = blocks.filter(({ block }) => (block.kind === 'model' && created(block.dbName)) || (block.kind === 'enum' && ownEnum(block)));
  const ownNames = new Set(own.map(({ block }) => block.name));
  const out: string[] = own.map(({ text, block }) => text.slice(block.startOffset, block.endOffset));
  for (const { text, block } of blocks) {
    if (block.kind !== 'model' || ownNames.has(block.name)) continue;
    const lines = text.split('\n');
    const fields = block.fields.filter((f) => ownNames.has(f.type) || created(`${block.dbName}.${f.column}`) || relationOver(lines[f.line - 1]!, block, created));
    if (fields.length === 0) continue;
    out.push(`extend model ${block.name} {\n${fields.map((f) => lines[f.line - 1]).join('\n')}\n}`);
  }
  return out.length === 0 ? '' : `${out.join('\n\n')}\n`;
}

/** Names of the enums an owner's schema text declares. */
function declaredEnums(owner: Owner, text: string): string[] {
  return parseSchemaFile({ owner: owner.name, path: owner.schemaPath, text }).blocks.filter((b) => b.kind === 'enum').map((b) => b.name);
}

/**
 * SQLite stores an enum as TEXT, so the enums of a re-introspected schema come from the schema
 * it was given (`input`), and come back incomplete: value `@map`s are lost, and a field keeps
 * its enum type but gets its default back as the stored label (`role Role @default("member")`),
 * which Prisma then rejects ("Expected an enum value"). The enum blocks are taken from `input`
 * as they are, and such defaults become the value whose label they hold.
 */
function schemaEnums(owner: Owner, introspected: SchemaFile[], input: SchemaFile[]): SchemaFile[] {
  const parse = (f: SchemaFile) => parseSchemaFile({ owner: owner.name, path: f.path, text: f.content }).blocks;
  const enums = new Map<string, { text: string; labels: Map<string, string> }>();
  for (const f of input) {
    for (const b of parse(f)) {
      if (b.kind === 'enum') enums.set(b.name, { text: f.content.slice(b.startOffset, b.endOffset), labels: new Map(b.values!.map((label, i) => [label, b.valueNames![i]!])) });
    }
  }
  return introspected.map((f) => {
    const lines = f.content.split('\n');
    for (const field of parse(f).filter((b) => b.kind === 'model').flatMap((b) => b.fields)) {
      const labels = enums.get(field.type)?.labels;
      if (!labels) continue;
      lines[field.line - 1] = lines[field.line - 1]!.replace(/@default\("([^"\\]*)"\)/, (whole, label: string) => (labels.has(label) ? `@default(${labels.get(label)})` : whole));
    }
    let content = lines.join('\n');
    // From the end, so that earlier offsets stay valid.
    for (const b of parse({ ...f, content }).reverse()) {
      const original = b.kind === 'enum' ? enums.get(b.name) : undefined;
      if (original) content = content.slice(0, b.startOffset) + original.text + content.slice(b.endOffset);
    }
    return { ...f, content };
  });
}

/** A relation field whose `fields: [...]` are columns the extension added. */
function relationOver(line: string, block: ParsedBlock, created: (key: string) => boolean): boolean {
  const m = /fields:\s*\[([^\]]*)\]/.exec(line);
  if (!m) return false;
  const names = m[1]!.split(',').map((s) => s.trim());
  return names.length > 0 && names.every((n) => {
    const field = block.fields.find((f) => f.name === n);
    return field !== undefined && created(`${block.dbName}.${field.column}`);
  });
}

/**
 * For owners whose latest migration has no snapshot (a history adopted from Prisma Migrate), what
 * their migrations produce, by replay: the "before" of their next revision, which then writes
 * the snapshot. `owners` are the owners a revision diffs; the core and dependencies it reads as
 * context are included. Owners with snapshots (or without migrations) are not replayed.
 *
 * @example
 *   const before = await replayedSnapshots(project, [project.core]); // Map { 'core' => 'datasource db { ... }' }
 */
export async function replayedSnapshots(project: Project, owners: Owner[]): Promise<Map<string, string>> {
  const involved = new Map<string, Owner>();
  for (const owner of owners) for (const o of replayChain(project, owner)) involved.set(o.name, o);
  const files = new Map([...involved.values()].map((o) => [o.name, readMigrations(o.migrationsDir)]));
  const adopted = [...involved.values()].filter((o) => {
    const latest = files.get(o.name)!.at(-1);
    return latest !== undefined && !existsSync(latest.snapshotPath);
  });
  const produced = new Map<string, string>();
  if (adopted.length === 0) return produced;
  // Names come from the current schemas; an unreadable one fails later, where revision reads it.
  const current = new Map(project.owners.map((o) => [o.name, existsSync(o.schemaPath) ? readSchemaText(project, o) : '']));
  for (const owner of adopted) {
    const known = remembered.get(memoKey(project, owner, current, files));
    if (known !== undefined) produced.set(owner.name, known);
  }
  const left = adopted.filter((o) => !produced.has(o.name));
  if (left.length === 0) return produced;
  const session = await openReplaySession(project, [...involved.values()], files);
  try {
    for (const owner of left) produced.set(owner.name, (await session.produced(owner, current)).text);
  } finally {
    await session.close();
  }
  return produced;
}

/**
 * Texts produced earlier in this process, by what they depend on: the migrations of the replayed
 * owners and the schemas whose names introspection keeps. `check` replays every owner for drift
 * and then plans a revision, which would replay adopted owners again.
 */
const remembered = new Map<string, string>();

function memoKey(project: Project, owner: Owner, current: Map<string, string>, files?: Map<string, MigrationFiles[]>): string {
  const chain = replayChain(project, owner);
  const migrations = chain.map((o) => (files?.get(o.name) ?? readMigrations(o.migrationsDir)).map((m) => `${m.name}:${m.checksum}`));
  return JSON.stringify([project.settings.root, owner.name, migrations, chain.map((o) => current.get(o.name) ?? null), current.get(owner.name) ?? null]);
}
