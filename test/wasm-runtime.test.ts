/**
 * Prisma's schema engine glue holds one WebAssembly instance per process: a second copy of the
 * loader (two installs of orchestrate, a module evaluated again) must share the first runtime,
 * not swap the instance under engines already running. Only a fresh process shows it.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { REPO } from './helpers.js';

it('two copies of the loader in one process share one runtime, and a running engine keeps working', async () => {
  const dist = pathToFileURL(path.join(REPO, 'dist/engine')).href;
  const program = `
    const first = await import('${dist}/wasm.js?first');
    const runtime = await first.loadSchemaEngineRuntime();
    const { startWasmEngine } = await import('${dist}/engine.js');
    const engine = await startWasmEngine({});
    const second = await import('${dist}/wasm.js?second');
    const again = await second.loadSchemaEngineRuntime();
    const sql = await engine.diff('empty', [{ path: 'schema.prisma', content: 'datasource db {\\n  provider = "postgresql"\\n}\\n\\nmodel A {\\n  id Int @id\\n}\\n' }]);
    await engine.close();
    console.log(JSON.stringify({ same: runtime === again, sql }));
  `;
  const r = await execa(process.execPath, ['--input-type=module', '-e', program], { reject: false });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({ same: true, sql: expect.stringContaining('CREATE TABLE "A"') });
});
