/** umami, a real Prisma Migrate project (20 migrations, no down.sql, no snapshot), as test input. */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { REPO, tempDir } from './helpers.js';

export const UMAMI = path.join(REPO, 'test/real-projects/umami');

/** umami's prisma/ folder copied into a fresh project, as its core (the original is never written). */
export function copyUmami(): { dir: string; cleanup: () => void } {
  const t = tempDir('orch-umami-');
  cpSync(path.join(UMAMI, 'prisma'), path.join(t.dir, 'prisma'), { recursive: true });
  return t;
}
