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
 * The database URL of a run: `--url`, else `DATABASE_URL`. Undefined means "use the embedded
 * database". This is the one place to add further sources (e.g. prisma.config.ts's datasource).
 *
 * @example
 *   await resolveDatabaseUrl(ctx); // { url: 'postgresql://app@db:5432/app', source: 'DATABASE_URL' }
 */
export async function resolveDatabaseUrl(ctx: Context): Promise<DatabaseUrl | undefined> {
  const url = explicitUrl(ctx);
  if (url === undefined) return undefined;
  return { url, source: ctx.globals.url !== undefined && ctx.globals.url.trim() !== '' ? '--url' : 'DATABASE_URL' };
}
