import { getSchema, PrismaParser, VisitorClassFactory, type Block as AstBlock, type Field, type BlockAttribute } from '@mrleebo/prisma-ast';
import { UsageError } from '../errors.js';

/** A schema file as read from disk, with its owner. */
export interface SourceFile {
  owner: string;
  /** Project-relative path with forward slashes: what messages show. */
  path: string;
  text: string;
  /**
   * For a folder of schema files read as one text: the original file and line of each line
   * (index 0 is line 1), which messages show instead of `path` and the line in `text`.
   */
  origins?: { path: string; line: number }[];
}

export type BlockKind = 'model' | 'enum' | 'view' | 'type' | 'datasource' | 'generator';

export interface ParsedField {
  name: string;
  /** Type name without `?`/`[]`. */
  type: string;
  /** Database column name (`@map`) or the field name. */
  column: string;
  line: number;
  isList: boolean;
}

export interface ParsedBlock {
  kind: BlockKind;
  name: string;
  /** `extend model X { ... }` in a fragment. */
  extend: boolean;
  /** 1-based line of the block keyword and of its closing brace. */
  startLine: number;
  endLine: number;
  /** 0-based character offsets: block start (incl. `extend`) and just after the closing brace. */
  startOffset: number;
  endOffset: number;
  /** Offset just after `{` and of the closing `}`: the body in between is copied verbatim. */
  bodyStart: number;
  bodyEnd: number;
  /** Database name: `@@map` argument or the block name (models, views, enums). */
  dbName: string;
  fields: ParsedField[];
  /** Block attributes (`@@index`, `@@unique`, ...) by name with their line. */
  attributes: { name: string; line: number }[];
  /** An enum's values as the database labels them (`@map` or the name), in declaration order. */
  values?: string[];
  /** The same values by their names in the schema. */
  valueNames?: string[];
}

export interface ParsedFile {
  file: SourceFile;
  blocks: ParsedBlock[];
}

let parser: PrismaParser | undefined;
let visitor: unknown;

function parserAndVisitor(): { parser: PrismaParser; visitor: unknown } {
  if (!parser) {
    parser = new PrismaParser({ nodeLocationTracking: 'full' });
    const Visitor = VisitorClassFactory(parser);
    visitor = new Visitor(parser);
  }
  return { parser, visitor };
}

/** 1-based line of an offset, by binary search over the file's line starts (computed once). */
function lineCounter(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/**
 * Finds the braces of the block starting at `from`: skips `//` comments and string literals,
 * so braces inside them never count.
 */
function findBraces(text: string, from: number): { open: number; close: number } | null {
  let depth = 0;
  let open = -1;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') i++;
        i++;
      }
    } else if (c === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) return { open, close: i };
    }
  }
  return null;
}

function stringArg(value: unknown): string | null {
  if (typeof value === 'string' && /^".*"$/.test(value)) return JSON.parse(value) as string;
  if (typeof value === 'object' && value !== null && (value as { type?: string }).type === 'keyValue') {
    const kv = value as { key: string; value: unknown };
    if (kv.key === 'name' || kv.key === 'map') return stringArg(kv.value);
  }
  return null;
}

function mapArgument(attrs: { name: string; args?: { value: unknown }[] }[] | undefined, name: string): string | null {
  const attr = attrs?.find((a) => a.name === name);
  const first = attr?.args?.[0];
  return first ? stringArg(first.value) : null;
}

/**
 * Parses one schema file with a real Prisma grammar (comments, strings and attribute arguments
 * with braces are handled by the parser), and records where each block starts and ends.
 * Throws a UsageError naming file:line:column on a syntax error.
 */
export function parseSchemaFile(file: SourceFile): ParsedFile {
  const lineAt = lineCounter(file.text);
  const { parser: p, visitor: v } = parserAndVisitor();
  let ast;
  try {
    ast = getSchema(file.text, { parser: p, visitor: v as never });
  } catch (error) {
    const token = (error as { token?: { startLine?: number; startColumn?: number; image?: string } }).token;
    const origin = token?.startLine ? (file.origins?.[token.startLine - 1] ?? { path: file.path, line: token.startLine }) : null;
    const where = origin ? `${origin.path}:${origin.line}:${token!.startColumn}` : file.path;
    const image = token?.image;
    const found = image === undefined || image === '' ? 'unexpected end of file' : image.trim() === '' ? 'unexpected end of line' : `unexpected ${JSON.stringify(image)}`;
    const message = `${where}: syntax error, ${found}; fix the schema at that position (fields are \`name Type @attributes\`, one per line, inside \`model Name { ... }\`).`;
    throw new UsageError(message, { cause: error, problems: [{ code: 'schema', owner: file.owner, file: origin?.path ?? file.path, line: origin?.line, message }] });
  }
  const blocks: ParsedBlock[] = [];
  for (const node of ast.list as AstBlock[]) {
    if (!('name' in node) || !('location' in node) || !node.location) continue;
    const kind = node.type as BlockKind;
    const keywordOffset = node.location.startOffset;
    // The parser drops the word `extend`; it must stand alone before `model` on that line
    // (a comment ending in "extend" on the line above is not the keyword).
    const lineStart = file.text.lastIndexOf('\n', keywordOffset - 1) + 1;
    const extendMatch = /^\s*extend\s+$/.exec(file.text.slice(lineStart, keywordOffset));
    const startOffset = extendMatch ? lineStart + extendMatch[0].indexOf('extend') : keywordOffset;
    const braces = findBraces(file.text, keywordOffset);
    if (!braces) {
      const origin = file.origins?.[(node.location.startLine ?? 1) - 1] ?? { path: file.path, line: node.location.startLine };
      const message = `${origin.path}:${origin.line}: the ${kind} block "${node.name}" has no closing brace; add "}" at its end.`;
      throw new UsageError(message, { problems: [{ code: 'schema', owner: file.owner, file: origin.path, line: origin.line, message }] });
    }
    const fields: ParsedField[] = [];
    const attributes: { name: string; line: number }[] = [];
    const values: string[] = [];
    const valueNames: string[] = [];
    let dbName = node.name;
    if (kind === 'model' || kind === 'view' || kind === 'type') {
      for (const prop of (node as { properties?: unknown[] }).properties ?? []) {
        const pr = prop as Field | BlockAttribute;
        if (pr.type === 'field') {
          const field = pr as Field;
          const type = typeof field.fieldType === 'string' ? field.fieldType : (field.fieldType as { name: string }).name;
          fields.push({
            name: field.name,
            type,
            column: mapArgument(field.attributes, 'map') ?? field.name,
            line: field.location?.startLine ?? lineAt(keywordOffset),
            isList: Boolean(field.array),
          });
        } else if (pr.type === 'attribute') {
          const attr = pr as BlockAttribute;
          const line = attr.location?.startLine ?? lineAt(keywordOffset);
          attributes.push({ name: attr.name, line });
          if (attr.name === 'map') dbName = mapArgument([attr], 'map') ?? dbName;
        }
      }
    } else if (kind === 'enum') {
      for (const e of (node as { enumerators?: unknown[] }).enumerators ?? []) {
        const en = e as BlockAttribute;
        if (en.type === 'attribute' && en.name === 'map') dbName = mapArgument([en], 'map') ?? dbName;
        const value = e as { type: string; name: string; attributes?: { name: string; args?: { value: unknown }[] }[] };
        if (value.type !== 'enumerator') continue;
        values.push(mapArgument(value.attributes, 'map') ?? value.name);
        valueNames.push(value.name);
      }
    }
    blocks.push({
      kind,
      name: node.name,
      extend: Boolean(extendMatch),
      startLine: lineAt(startOffset),
      endLine: lineAt(braces.close),
      startOffset,
      endOffset: braces.close + 1,
      bodyStart: braces.open + 1,
      bodyEnd: braces.close,
      dbName,
      fields,
      attributes,
      ...(kind === 'enum' ? { values, valueNames } : {}),
    });
  }
  return { file, blocks };
}
