/**
 * The tenant list of a fleet run: read from a file, a command's output or a control database,
 * validated at the edge into plain `Tenant` objects. Every problem is collected before reporting.
 */
import { InputErrors, UsageError } from '../errors.js';

export interface Tenant {
  /** Unique within the list; used in progress lines, reports and job keys. */
  name: string;
  /** Connection URL, password included: never printed (see `safeUrl`). */
  url: string;
  labels: string[];
}

/** A URL without its password (and without the user's name when it carries one), for output. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}

/** An error message with the tenant's password removed, whatever produced it. */
export function scrub(message: string, url: string): string {
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password.length > 0) return message.split(password).join('****');
  } catch {
    // not a URL: nothing to hide
  }
  return message;
}

/** The database name of a URL, for a tenant listed without a name. */
function databaseName(url: URL): string {
  return decodeURIComponent(url.pathname.replace(/^\//, '')) || url.hostname;
}

interface RawTenant {
  name?: unknown;
  url?: unknown;
  labels?: unknown;
}

/**
 * Validates raw entries (from any source) into tenants. `where` says where each entry came
 * from, e.g. `tenants.json entry 3` or `line 12 of tenants.txt`.
 */
export function validateTenants(entries: { raw: RawTenant; where: string }[], source: string): Tenant[] {
  const problems: string[] = [];
  const parsed: { name?: string; url: string; parsedUrl: URL; labels: string[]; where: string }[] = [];
  for (const { raw, where } of entries) {
    if (typeof raw.url !== 'string' || raw.url.trim() === '') {
      problems.push(`${where}: no "url"; give each tenant a postgresql:// connection URL.`);
      continue;
    }
    const url = raw.url.trim();
    let parsedUrl: URL;
    try {
      parsedUrl = new URL(url);
    } catch {
      problems.push(`${where}: "${url.replace(/:[^:@/]*@/, ':****@')}" is not a URL; use postgresql://user:password@host:5432/database.`);
      continue;
    }
    if (parsedUrl.protocol !== 'postgresql:' && parsedUrl.protocol !== 'postgres:') {
      problems.push(`${where}: ${safeUrl(url)} is a "${parsedUrl.protocol.replace(/:$/, '')}:" URL, but fleets run on PostgreSQL; use a postgresql:// URL.`);
      continue;
    }
    if (raw.name !== undefined && (typeof raw.name !== 'string' || raw.name.trim() === '')) {
      problems.push(`${where}: "name" must be a non-empty string.`);
      continue;
    }
    let labels: string[] = [];
    if (raw.labels !== undefined && raw.labels !== null) {
      const list = typeof raw.labels === 'string' ? raw.labels.split(',') : raw.labels;
      if (!Array.isArray(list) || list.some((l) => typeof l !== 'string')) {
        problems.push(`${where}: "labels" must be a list of strings (or a comma-separated string).`);
        continue;
      }
      labels = list.map((l: string) => l.trim()).filter((l: string) => l !== '');
    }
    parsed.push({ name: typeof raw.name === 'string' ? raw.name.trim() : undefined, url, parsedUrl, labels, where });
  }
  // A tenant without a name is called by its database; when two such names collide (the same
  // database name on two servers), host and port tell them apart.
  const hostsByDb = new Map<string, Set<string>>();
  for (const p of parsed) {
    if (p.name !== undefined) continue;
    const db = databaseName(p.parsedUrl);
    hostsByDb.set(db, (hostsByDb.get(db) ?? new Set()).add(p.parsedUrl.host));
  }
  const tenants: Tenant[] = [];
  const seen = new Map<string, string>();
  for (const p of parsed) {
    const db = databaseName(p.parsedUrl);
    const name = p.name ?? ((hostsByDb.get(db)?.size ?? 0) > 1 ? `${p.parsedUrl.host}/${db}` : db);
    const first = seen.get(name);
    if (first !== undefined) {
      problems.push(`${p.where}: tenant "${name}" is listed twice (first at ${first}); each database must appear once, with a unique name.`);
      continue;
    }
    seen.set(name, p.where);
    tenants.push({ name, url: p.url, labels: p.labels });
  }
  if (problems.length > 0) throw new InputErrors(problems);
  if (tenants.length === 0) throw new UsageError(`${source} lists no tenant databases; give one URL per line, or a JSON list of {"name", "url", "labels"}.`);
  return tenants;
}

/**
 * Parses a tenant list as text: JSON (a list, or an object with a `tenants` list, of
 * `{name?, url, labels?}` or plain URL strings), else one URL per line (blank lines and lines
 * starting with `#` are skipped).
 *
 * @example
 *   parseTenantList('postgresql://app@db1/acme\npostgresql://app@db1/globex\n', 'tenants.txt');
 *   // [{ name: 'acme', url: ..., labels: [] }, { name: 'globex', ... }]
 */
export function parseTenantList(text: string, source: string): Tenant[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`${source} is not valid JSON (${(error as Error).message}); fix it, or list one URL per line.`);
    }
    const list = Array.isArray(json) ? json : (json as { tenants?: unknown }).tenants;
    if (!Array.isArray(list)) throw new UsageError(`${source}: expected a JSON list of tenants, or an object with a "tenants" list.`);
    return validateTenants(
      list.map((entry, i) => ({
        raw: typeof entry === 'string' ? { url: entry } : typeof entry === 'object' && entry !== null ? (entry as RawTenant) : { url: undefined },
        where: `${source} entry ${i + 1}`,
      })),
      source,
    );
  }
  const entries: { raw: RawTenant; where: string }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const value = line.trim();
    if (value === '' || value.startsWith('#')) return;
    entries.push({ raw: { url: value }, where: `line ${i + 1} of ${source}` });
  });
  return validateTenants(entries, source);
}

/** Rows of a control-database query: a `url` column, optional `name` and `labels`. */
export function tenantsFromRows(rows: Record<string, unknown>[], source: string): Tenant[] {
  if (rows.length > 0 && !('url' in rows[0]!)) {
    throw new UsageError(`${source} returned no "url" column (columns: ${Object.keys(rows[0]!).join(', ')}); select the connection URL AS url, and optionally name and labels.`);
  }
  return validateTenants(
    rows.map((row, i) => ({ raw: { url: row.url, name: row.name ?? undefined, labels: row.labels ?? undefined }, where: `row ${i + 1} of ${source}` })),
    source,
  );
}

/**
 * The canary group: `n` (the first n tenants) or a label (every tenant carrying it).
 * Returns the names, in list order.
 */
export function canaryGroup(tenants: Tenant[], canary: string | undefined): string[] {
  if (canary === undefined) return [];
  if (/^\d+$/.test(canary)) {
    const n = Number(canary);
    if (n < 1) throw new UsageError(`--canary ${canary}: give a number of databases (1 or more) or a label.`);
    return tenants.slice(0, n).map((t) => t.name);
  }
  const names = tenants.filter((t) => t.labels.includes(canary)).map((t) => t.name);
  if (names.length === 0) {
    const labels = [...new Set(tenants.flatMap((t) => t.labels))].sort();
    throw new UsageError(
      `--canary ${canary}: no tenant has the label "${canary}" (${labels.length > 0 ? `labels in the list: ${labels.join(', ')}` : 'the list has no labels'}); give a number or an existing label.`,
    );
  }
  return names;
}
