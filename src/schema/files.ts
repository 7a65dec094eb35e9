/**
 * An owner's schema is a file, or a folder of `.prisma` files (Prisma's multi-file schema). A
 * folder is read as one text, its files in path order, each after a comment naming it, with the
 * origin of every line kept so that messages point at the original file and line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface LineAt {
  /** Project-relative path with forward slashes. */
  path: string;
  line: number;
}

export interface SchemaText {
  text: string;
  /** Origin of each line of `text` (index 0 is line 1); absent for a single file. */
  origins?: LineAt[];
  /** The `.prisma` files read, absolute, in order. */
  files: string[];
}

const rel = (root: string, file: string) => path.relative(root, file).split(path.sep).join('/');

export function isSchemaFolder(schemaPath: string): boolean {
  return statSync(schemaPath, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** Every `.prisma` file under a folder, in path order (subfolders included, as Prisma reads them). */
export function prismaFilesIn(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      // A migrations folder inside the schema folder holds no schema files.
      if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'migrations') walk(full);
      else if (entry.isFile() && entry.name.endsWith('.prisma')) found.push(full);
    }
  };
  walk(folder);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Reads a schema file or folder; throws the file system's error when it cannot (ENOENT for a
 * path that does not exist, or a folder without `.prisma` files).
 *
 * @example
 *   const { text, origins } = readSchemaPath('/app', '/app/prisma/schema');
 *   origins?.[0]; // { path: 'prisma/schema/base.prisma', line: 1 }
 */
export function readSchemaPath(root: string, schemaPath: string): SchemaText {
  if (!isSchemaFolder(schemaPath)) return { text: readFileSync(schemaPath, 'utf8'), files: [schemaPath] };
  const files = prismaFilesIn(schemaPath);
  if (files.length === 0) throw Object.assign(new Error(`${schemaPath} holds no .prisma file`), { code: 'ENOENT' });
  const parts: string[] = [];
  const origins: LineAt[] = [];
  for (const file of files) {
    const name = rel(root, file);
    let content = readFileSync(file, 'utf8');
    if (!content.endsWith('\n')) content += '\n';
    parts.push(`// ---- ${name} ----\n`, content);
    origins.push({ path: name, line: 1 });
    const lines = content.split('\n').length - 1;
    for (let i = 1; i <= lines; i++) origins.push({ path: name, line: i });
  }
  return { text: parts.join(''), origins, files };
}
