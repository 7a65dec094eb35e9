import { constants, existsSync } from 'node:fs';
import { access, chmod, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from '../errors.js';

/**
 * The built bridge: the `orchestrate-schema-engine` workspace package
 * (packages/schema-engine-bridge), whose `dist/schema-engine.js` is also this package's
 * `orchestrate-schema-engine` bin. It lies at the same place relative to `src/engine/` (tests
 * run TypeScript directly) and `dist/engine/`.
 */
export function bridgeScriptPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const built = path.resolve(here, '../../packages/schema-engine-bridge/dist/schema-engine.js');
  if (existsSync(built)) return built;
  throw new RuntimeError(`The schema-engine bridge is not built (looked for ${built}); run \`pnpm build\` first.`);
}

/**
 * A path the Prisma CLI can spawn as its schema engine. `tsc` does not set the executable
 * bits, so they are added here (as Prisma does for its own engines); where the package is
 * read-only, a two-line shell wrapper in `scratchDir` runs the bridge with this Node instead.
 */
export async function ensureBridgeExecutable(scratchDir: string): Promise<string> {
  const script = bridgeScriptPath();
  if (process.platform === 'win32') {
    throw new RuntimeError(
      'The schema-engine bridge cannot be spawned by the Prisma CLI on Windows (it needs an .exe); use the default in-process engine (`--engine wasm`) or run under WSL.',
    );
  }
  try {
    await access(script, constants.X_OK);
    return script;
  } catch {
    // not executable yet
  }
  try {
    const { mode } = await stat(script);
    await chmod(script, mode | 0o111);
    return script;
  } catch {
    const wrapper = path.join(scratchDir, 'orchestrate-schema-engine');
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    await writeFile(wrapper, `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(script)} "$@"\n`, { mode: 0o755 });
    return wrapper;
  }
}
