import { constants, existsSync } from 'node:fs';
import { access, chmod, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from '../errors.js';

/**
 * The built bridge, `dist/bridge/schema-engine.js`. When this module runs from `src/`
 * (tests run TypeScript directly), the built file is looked up in `dist/`.
 */
export function bridgeScriptPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'schema-engine.js');
  if (existsSync(beside)) return beside;
  const built = path.resolve(here, '../../dist/bridge/schema-engine.js');
  if (existsSync(built)) return built;
  throw new RuntimeError(`The schema-engine bridge is not built (looked for ${beside}); run \`pnpm build\` first.`);
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
