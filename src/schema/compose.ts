import { InputErrors, UsageError, type Problem } from '../errors.js';
import { parseSchemaFile, type ParsedBlock, type ParsedField, type ParsedFile, type SourceFile } from './parse.js';

/** One owner's schema file as it takes part in a composition. */
export interface OwnerSource {
  owner: string;
  kind: 'core' | 'extension';
  /** Owners this one may refer to and extend (core is always visible to extensions). */
  visible: string[];
  file: SourceFile;
  /** Where the manifest lives, for messages about dependsOn. */
  manifestPath?: string;
}

/** A schema file as the engine and Prisma's validator read it. */
export interface SchemaFile {
  /** Shown in messages; the project-relative path of the original file. */
  path: string;
  content: string;
}

/** Where a line of an owner's text comes from: the file itself, or one file of its schema folder. */
function lineAt(file: SourceFile, line: number): { path: string; line: number } {
  return file.origins?.[line - 1] ?? { path: file.path, line };
}

const at = (file: SourceFile, line: number) => {
  const o = lineAt(file, line);
  return `${o.path}:${o.line}`;
};

/** A composition problem at a line of an owner's file; the message starts with `path:line:`. */
function problem(source: OwnerSource, line: number, text: string): Problem {
  const o = lineAt(source.file, line);
  return { code: 'composition', owner: source.owner, file: o.path, line: o.line, message: `${o.path}:${o.line}: ${text}` };
}

export interface LineOrigin {
  path: string;
  line: number;
  /** The owner of that file (unknown for a line the composition did not produce). */
  owner?: string;
}

export interface Ownership {
  /** Model/view/type/enum name → owner. */
  blocks: Map<string, string>;
  /** Table name (after `@@map`) → owner. */
  tables: Map<string, string>;
  /** `table.column` → owner; fields added by `extend model` belong to the extension. */
  columns: Map<string, string>;
  /** Enum type name (after `@@map`) → owner. */
  enumTypes: Map<string, string>;
  /** Owner → tables of other owners it adds fields or attributes to. */
  extended: Map<string, Set<string>>;
  /** Table name → the model (or view) mapped onto it. */
  modelOfTable: Map<string, string>;
  /** Model → the other owners that add fields or attributes to it. */
  extenders: Map<string, string[]>;
  /** Enum type name (after `@@map`) → the other owners with fields of that type. */
  enumUsers: Map<string, string[]>;
  /**
   * Table → the other owners that add stored columns to it (`extend model` fields that are not
   * relation fields). A rebuild of the table (SQLite) by an owner that cannot see them would lose them.
   */
  columnExtenders?: Map<string, string[]>;
}

export interface Composed {
  /** One file per original schema file, `extend model` bodies folded into their targets. */
  files: SchemaFile[];
  /** The same as one schema text (for Prisma Client generation). */
  merged: string;
  ownership: Ownership;
  /** Output file path → origin of each output line (index 0 is line 1). */
  lineMaps: Map<string, LineOrigin[]>;
}

const SCALARS = new Set(['String', 'Int', 'BigInt', 'Float', 'Decimal', 'Boolean', 'DateTime', 'Json', 'Bytes', 'Unsupported']);

const parseCache = new Map<string, ParsedFile>();

/** Parses a file once per (path, text) for the life of the process: worlds share core. */
export function parseCached(file: SourceFile): ParsedFile {
  const key = `${file.owner}\u0000${file.path}\u0000${file.text}`;
  let parsed = parseCache.get(key);
  if (!parsed) {
    parsed = parseSchemaFile(file);
    parseCache.set(key, parsed);
  }
  return parsed;
}

const describe = (owner: string) => (owner === 'core' ? 'core' : `extension "${owner}"`);

/**
 * Composes core and fragments into one Prisma schema (as several files), folding each
 * `extend model X { ... }` into X and recording who owns every model, enum, table and column.
 * Collects every ownership problem before throwing one InputErrors.
 *
 * @example
 *   const composed = compose([coreSource, billingSource]);
 *   composed.ownership.columns.get('User.billingCustomerId'); // 'billing'
 */
export function compose(sources: OwnerSource[]): Composed {
  const parsed = sources.map((s) => ({ source: s, parsed: parseCached(s.file) }));
  const problems: Problem[] = [];
  const declared = new Map<string, { owner: string; block: ParsedBlock; path: string; file: SourceFile }>();

  for (const { source, parsed: pf } of parsed) {
    for (const block of pf.blocks) {
      if (source.kind === 'extension' && (block.kind === 'datasource' || block.kind === 'generator')) {
        problems.push(problem(source, block.startLine, `a ${block.kind} block is not allowed in an extension fragment; remove it (the core schema ${sources[0]?.file.path ?? 'prisma/schema.prisma'} holds the ${block.kind}).`));
        continue;
      }
      if (block.extend) {
        if (source.kind === 'core') problems.push(problem(source, block.startLine, `\`extend model\` is only allowed in extension fragments; declare the fields in model ${block.name} directly.`));
        continue;
      }
      if (block.kind === 'datasource' || block.kind === 'generator') continue;
      const previous = declared.get(block.name);
      if (previous) {
        problems.push(problem(source, block.startLine, `${block.kind} "${block.name}" is already declared in ${at(previous.file, previous.block.startLine)} (${describe(previous.owner)}); each model and enum has one owner — rename one, or use \`extend model ${block.name}\` to add fields.`));
        continue;
      }
      declared.set(block.name, { owner: source.owner, block, path: source.file.path, file: source.file });
    }
  }

  // Field name → where it was declared, per target model, to report fields added twice.
  const fieldSites = new Map<string, Map<string, string>>();
  for (const [name, d] of declared) {
    const sites = new Map<string, string>();
    for (const f of d.block.fields) sites.set(f.name, `${at(d.file, f.line)} (${describe(d.owner)})`);
    fieldSites.set(name, sites);
  }

  const inserts = new Map<string, { source: OwnerSource; block: ParsedBlock }[]>();
  for (const { source, parsed: pf } of parsed) {
    const visible = new Set([source.owner, ...source.visible]);
    for (const block of pf.blocks) {
      if (!block.extend || source.kind === 'core') continue;
      const target = declared.get(block.name);
      if (!target) {
        problems.push(problem(source, block.startLine, `\`extend model ${block.name}\` names no model of core or of the dependencies of ${describe(source.owner)}; check the name, or add the extension that declares it to dependsOn.`));
        continue;
      }
      if (target.block.kind !== 'model') {
        problems.push(problem(source, block.startLine, `\`extend model ${block.name}\` targets a ${target.block.kind}; only models can be extended.`));
        continue;
      }
      if (target.owner === source.owner) {
        problems.push(problem(source, block.startLine, `${describe(source.owner)} extends its own model ${block.name}; declare the fields in the model itself.`));
        continue;
      }
      if (!visible.has(target.owner)) {
        problems.push(problem(source, block.startLine, `\`extend model ${block.name}\` targets a model owned by ${describe(target.owner)}, which ${describe(source.owner)} does not depend on; add "${target.owner}" to dependsOn in ${source.manifestPath ?? 'its extension.json'}.`));
        continue;
      }
      const sites = fieldSites.get(block.name)!;
      for (const f of block.fields) {
        const here = at(source.file, f.line);
        const prior = sites.get(f.name);
        if (prior) {
          problems.push(problem(source, f.line, `field "${f.name}" is added to model ${block.name} twice (already declared at ${prior}); rename or remove one of them.`));
        } else {
          sites.set(f.name, `${here} (${describe(source.owner)})`);
        }
      }
      const list = inserts.get(block.name) ?? [];
      list.push({ source, block });
      inserts.set(block.name, list);
    }
  }

  // Every type a field refers to must be visible to the field's owner.
  for (const { source, parsed: pf } of parsed) {
    const visible = new Set([source.owner, ...source.visible]);
    for (const block of pf.blocks) {
      for (const f of block.fields) {
        if (SCALARS.has(f.type)) continue;
        const target = declared.get(f.type);
        if (!target || visible.has(target.owner)) continue;
        problems.push(
          problem(
            source,
            f.line,
            source.kind === 'core'
              ? `core field "${f.name}" refers to ${f.type}, owned by ${describe(target.owner)}; core cannot depend on extensions — declare the relation in the extension with \`extend model ${block.name}\`.`
              : `field "${f.name}" refers to ${f.type}, owned by ${describe(target.owner)}, which ${describe(source.owner)} does not depend on; add "${target.owner}" to dependsOn in ${source.manifestPath ?? 'its extension.json'}.`,
          ),
        );
      }
    }
  }
  if (problems.length > 0) throw new InputErrors(problems);

  return assemble(parsed, declared, inserts);
}

function assemble(
  parsed: { source: OwnerSource; parsed: ParsedFile }[],
  declared: Map<string, { owner: string; block: ParsedBlock; path: string; file: SourceFile }>,
  inserts: Map<string, { source: OwnerSource; block: ParsedBlock }[]>,
): Composed {
  const ownership: Ownership = { blocks: new Map(), tables: new Map(), columns: new Map(), enumTypes: new Map(), extended: new Map(), modelOfTable: new Map(), extenders: new Map(), enumUsers: new Map(), columnExtenders: new Map() };
  for (const [name, d] of declared) {
    ownership.blocks.set(name, d.owner);
    if (d.block.kind === 'enum') ownership.enumTypes.set(d.block.dbName, d.owner);
    if (d.block.kind === 'model' || d.block.kind === 'view') {
      ownership.tables.set(d.block.dbName, d.owner);
      ownership.modelOfTable.set(d.block.dbName, name);
      for (const f of d.block.fields) ownership.columns.set(`${d.block.dbName}.${f.column}`, d.owner);
    }
  }
  for (const [model, list] of inserts) {
    const table = declared.get(model)!.block.dbName;
    for (const { source, block } of list) {
      for (const f of block.fields) ownership.columns.set(`${table}.${f.column}`, source.owner);
      const kind = (f: ParsedField) => declared.get(f.type)?.block.kind;
      if (block.fields.some((f) => kind(f) !== 'model' && kind(f) !== 'view')) {
        const stored = ownership.columnExtenders!.get(table) ?? [];
        if (!stored.includes(source.owner)) ownership.columnExtenders!.set(table, [...stored, source.owner]);
      }
      const set = ownership.extended.get(source.owner) ?? new Set<string>();
      set.add(table);
      ownership.extended.set(source.owner, set);
      const by = ownership.extenders.get(model) ?? [];
      if (!by.includes(source.owner)) ownership.extenders.set(model, [...by, source.owner]);
    }
  }

  // Fields whose type is an enum of another owner (declared or added with `extend model`).
  for (const { source, parsed: pf } of parsed) {
    for (const block of pf.blocks) {
      for (const f of block.fields) {
        const e = declared.get(f.type);
        if (!e || e.block.kind !== 'enum' || e.owner === source.owner) continue;
        const users = ownership.enumUsers.get(e.block.dbName) ?? [];
        if (!users.includes(source.owner)) ownership.enumUsers.set(e.block.dbName, [...users, source.owner]);
      }
    }
  }

  const files: SchemaFile[] = [];
  const lineMaps = new Map<string, LineOrigin[]>();
  const mergedParts: string[] = [];
  for (const { source, parsed: pf } of parsed) {
    const { text, path } = source.file;
    const srcLines = text.split('\n');
    const out: string[] = [];
    const origin: LineOrigin[] = [];
    // Line-level edits: blank out extend blocks, insert folded bodies before closing lines.
    const blank = new Set<number>();
    const before = new Map<number, { lines: string[]; origins: LineOrigin[] }>();
    for (const block of pf.blocks) {
      if (block.extend) for (let l = block.startLine; l <= block.endLine; l++) blank.add(l);
      const added = block.kind === 'model' && !block.extend ? inserts.get(block.name) : undefined;
      if (!added) continue;
      const lines: string[] = [];
      const origins: LineOrigin[] = [];
      for (const { source: s, block: b } of added) {
        const body = s.file.text.slice(b.bodyStart, b.bodyEnd);
        const firstLine = s.file.text.slice(0, b.bodyStart).split('\n').length;
        body.split('\n').forEach((line, i) => {
          if (line.trim() === '') return;
          lines.push(line);
          origins.push({ ...lineAt(s.file, firstLine + i), owner: s.owner });
        });
      }
      before.set(block.endLine, { lines, origins });
    }
    srcLines.forEach((line, i) => {
      const n = i + 1;
      const ins = before.get(n);
      if (ins) {
        // A closing brace that shares its line with the last field: split it off first.
        const close = line.lastIndexOf('}');
        const head = line.slice(0, close);
        if (head.trim() !== '') {
          out.push(head);
          origin.push({ ...lineAt(source.file, n), owner: source.owner });
        }
        out.push(...ins.lines);
        origin.push(...ins.origins);
        out.push(head.trim() !== '' ? line.slice(close) : line);
        origin.push({ ...lineAt(source.file, n), owner: source.owner });
        return;
      }
      out.push(blank.has(n) ? '' : line);
      origin.push({ ...lineAt(source.file, n), owner: source.owner });
    });
    const content = out.join('\n');
    files.push({ path, content });
    lineMaps.set(path, origin);
    mergedParts.push(`// ---- ${path} (${source.owner}) ----\n${content.trimEnd()}\n`);
  }
  return { files, merged: mergedParts.join('\n'), ownership, lineMaps };
}

/** Maps a line of a composed file back to the original file and line. */
export function originOf(composed: Composed, path: string, line: number): LineOrigin {
  return composed.lineMaps.get(path)?.[line - 1] ?? { path, line };
}

/**
 * Validates a composition with Prisma's own validator (multi-file, as `prisma validate` does) and
 * reports every error at the original file and line, not at the composed text.
 * Uses `validate` rather than `getDMMF`: the same checks without building the client DMMF,
 * which for hundreds of models costs seconds.
 */
export async function validateComposed(composed: Composed): Promise<void> {
  const { createRequire } = await import('node:module');
  const wasm = createRequire(import.meta.url)('@prisma/prisma-schema-wasm') as { validate(params: string): void };
  try {
    wasm.validate(JSON.stringify({ prismaSchema: composed.files.map((f) => [f.path, f.content]), noColor: true }));
  } catch (error) {
    const raw = error instanceof Error ? error.message : String(error);
    let text = raw;
    try {
      text = (JSON.parse(raw) as { message?: string }).message ?? raw;
    } catch {
      // not JSON: keep the raw message
    }
    const problems: Problem[] = [];
    const re = /error: ([^\n]+)\n\s*-->\s+(.+?):(\d+)/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const o = originOf(composed, m[2]!, Number(m[3]));
      const message = m[1]!.trim();
      problems.push({ code: 'composition', owner: o.owner, file: o.path, line: o.line, message: `${o.path}:${o.line}: ${message}${message.endsWith('.') ? '' : '.'}` });
    }
    if (problems.length === 0) throw new UsageError(`The composed schema is not valid: ${text.split('\n').slice(0, 4).join(' ')}`, { cause: error });
    throw new InputErrors(problems);
  }
}
