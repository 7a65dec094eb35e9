/** Where a tenant list comes from: a file, a command's standard output, or a control-database query. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { RuntimeError, UsageError } from '../errors.js';
import { parseTenantList, safeUrl, tenantsFromRows, type Tenant } from './tenants.js';

export type TenantSource = { kind: 'file'; path: string } | { kind: 'command'; command: string } | { kind: 'query'; sql: string; controlUrl: string };

/**
 * Reads and validates the tenant list.
 *
 * @example
 *   await loadTenants({ kind: 'file', path: 'tenants.txt' }, process.cwd());
 */
export async function loadTenants(source: TenantSource, cwd: string): Promise<Tenant[]> {
  if (source.kind === 'file') {
    const file = path.resolve(cwd, source.path);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`--file ${source.path}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give the path of a tenant list.`, { cause: error });
    }
    return parseTenantList(text, source.path);
  }
  if (source.kind === 'command') {
    const { execa } = await import('execa');
    const result = await execa(source.command, { shell: true, cwd, reject: false, stdin: 'ignore', all: false });
    if (result.failed) {
      const why = result.stderr.trim().split('\n')[0] || (result.exitCode !== undefined ? `exit code ${result.exitCode}` : result.message);
      throw new UsageError(`--command "${source.command}" failed (${why}); it must print the tenant list on standard output and exit 0.`);
    }
    return parseTenantList(result.stdout, `the output of --command "${source.command}"`);
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: source.controlUrl, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new RuntimeError(`Cannot connect to the control database at ${safeUrl(source.controlUrl)} (${(error as Error).message}); check --control-url.`, { cause: error });
  }
  client.on('error', () => {}); // a drop after the query is reported by the query, or not at all
  try {
    const result = await client.query(source.sql);
    return tenantsFromRows(result.rows, '--query');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`--query failed on the control database at ${safeUrl(source.controlUrl)}: ${(error as Error).message}; it must return a "url" column.`, { cause: error });
  } finally {
    await client.end().catch(() => {});
  }
}
