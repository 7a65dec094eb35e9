/** Migration folder naming and directives (pure functions). */
import { describe, expect, it } from 'vitest';
import { nextMigrationName, parseDirectives, slugify } from '../src/migrations/folder.js';

describe('migration folders', () => {
  it('slugs names like Prisma does, keeping the letters of accented words', () => {
    expect(slugify('Add invoices!')).toBe('add_invoices');
    expect(slugify('ünïcödé names')).toBe('unicode_names');
    expect(slugify('  --  ')).toBe('');
    expect(slugify('x'.repeat(200))).toHaveLength(80);
  });

  it('names a new migration after every existing one, even with a clock behind', () => {
    const now = new Date('2026-11-23T20:00:00Z');
    expect(nextMigrationName([], 'init', now)).toBe('20261123200000_init');
    expect(nextMigrationName(['20261123200000_init'], 'next', now)).toBe('20261123200001_next');
    expect(nextMigrationName(['20301231235959_future'], 'next', now)).toBe('20310101000000_next');
  });

  it('reads requires lines and the no-transaction marker anywhere in the leading comments', () => {
    expect(parseDirectives('-- orchestrate:requires core 20260101000000_init\n-- orchestrate:no-transaction\nCREATE INDEX CONCURRENTLY x ON t(a);\n')).toEqual({
      noTransaction: true,
      requires: [{ owner: 'core', migration: '20260101000000_init' }],
      parents: [],
    });
    expect(parseDirectives('SELECT 1;\n-- orchestrate:no-transaction\n')).toEqual({ noTransaction: false, requires: [], parents: [] });
  });
});
