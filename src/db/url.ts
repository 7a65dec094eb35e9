import path from 'node:path';
import { explicitUrl, type Context } from '../commands/context.js';

/** Hides the password of a connection URL for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}

/** Where a database URL came from, for messages. */
export interface DatabaseUrl {
  url: string;
  source: string;
}

/**
 * The database URL of a run: `--url`, else `DATABASE_URL`, else the datasource URL of
 * `prisma.config.ts`. Undefined means "use the embedded database".
 *
 * @example
 *   await resolveDatabaseUrl(ctx); // { url: 'postgresql://app@db:5432/app', source: 'DATABASE_URL' }
 */
export async function resolveDatabaseUrl(ctx: Context): Promise<DatabaseUrl | undefined> {
  const url = explicitUrl(ctx);
  if (url !== undefined) return { url, source: ctx.globals.url !== undefined && ctx.globals.url.trim() !== '' ? '--url' : 'DATABASE_URL' };
  return prismaConfigDatabaseUrl(ctx.root);
}

/**
 * The datasource URL of the project's `prisma.config.ts`, read the way Prisma 7 reads it. Only
 * consulted when neither --url nor DATABASE_URL is set (so the module is imported only then), and
 * @prisma/config is only loaded when the file exists: a plain `migrate` does not pay for it.
 */
async function prismaConfigDatabaseUrl(root: string): Promise<DatabaseUrl | undefined> {
  const { findPrismaConfigFile, prismaConfigUrl } = await import('../config/prisma-config.js');
  const file = findPrismaConfigFile(root);
  if (file === null) return undefined;
  const url = await prismaConfigUrl(root, file);
  return url === null ? undefined : { url, source: path.relative(root, file) || file };
}
