import { afterEach } from 'vitest';
import { tempDir, writeProject, type ProjectSpec } from './helpers.js';

/** Core of the test projects: tenants and users, like the sample app's core. */
export const CORE = `model Organization {
  id    Int    @id @default(autoincrement())
  name  String
  users User[]
}

model User {
  id             Int          @id @default(autoincrement())
  email          String       @unique
  organizationId Int
  organization   Organization @relation(fields: [organizationId], references: [id])
}
`;

export const BILLING = `model Invoice {
  id     Int    @id @default(autoincrement())
  number String @unique
  userId Int
  user   User   @relation(fields: [userId], references: [id])

  @@map("billing_invoices")
}

extend model User {
  invoices Invoice[]
}
`;

/** Registers cleanups run after each test, newest first. */
export function useCleanups(): (fn: () => unknown) => void {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return (fn) => cleanups.push(fn);
}

/** A temp project (core + the given extensions), removed after the test. */
export function makeProject(onCleanup: (fn: () => unknown) => void, spec: ProjectSpec = {}): string {
  const t = tempDir();
  onCleanup(t.cleanup);
  writeProject(t.dir, { core: CORE, ...spec });
  return t.dir;
}

/**
 * stderr holds exactly one line, an error sentence, besides the progress lines (each migration as
 * it starts, each owner revision diffs).
 */
export function oneErrorLine(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((l) => !/^(Applying|Rolling back) \S+\/\S+ …$/.test(l) && !/^(Diffing \d+ owners? |\[\s*\d+\/\d+\] )/.test(l));
  if (lines.length !== 1 || !lines[0]!.startsWith('error: ')) throw new Error(`expected one error line, got:\n${stderr}`);
  return lines[0]!.slice('error: '.length);
}
