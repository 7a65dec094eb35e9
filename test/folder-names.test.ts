/** Migration folder names: Prisma's own histories (`01_init`) apply; `check` asks for timestamps; unsafe names are refused. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MisnamedMigrationsError, readMigrations } from '../src/migrations/folder.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function folders(names: string[]): string {
  dir = mkdtempSync(path.join(os.tmpdir(), 'orch-names-'));
  for (const name of names) {
    mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, name, 'migration.sql'), 'SELECT 1;\n');
  }
  return dir;
}

describe('migration folder names', () => {
  it('reads names like umami\'s 01_init in sorted order, as Prisma Migrate applies them', () => {
    const d = folders(['02_report', '01_init', '20240101000000_add']);
    expect(readMigrations(d).map((m) => m.name)).toEqual(['01_init', '02_report', '20240101000000_add']);
  });

  it('with strictNames (check) flags every name that is not <timestamp>_<slug>', () => {
    const d = folders(['01_init', '20240101000000_add']);
    expect(() => readMigrations(d, { strictNames: true })).toThrow(MisnamedMigrationsError);
  });

  it('refuses names with spaces everywhere', () => {
    const d = folders(['add users']);
    expect(() => readMigrations(d)).toThrow(/"add users"/);
  });
});
