import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** CLI tests run the built binary, so build once before any test file starts. */
export default function setup(): void {
  if (process.env.ORCHESTRATE_TEST_SKIP_BUILD === '1') return;
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  // The schema-engine bridge package, built against the entry just built (see `pnpm build`).
  execFileSync(process.execPath, [tsc, '-p', 'packages/schema-engine-bridge/tsconfig.json'], { cwd: root, stdio: 'inherit' });
}
