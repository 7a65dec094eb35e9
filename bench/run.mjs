// Runs every benchmark, one after the other, so their figures come from one run on one machine.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
for (const script of ['revision.mjs', 'migrate.mjs', 'engines.mjs', 'fleet.mjs', 'sqlite.mjs', 'replay.mjs', 'embedded.mjs']) {
  console.log(`\n== ${script}`);
  execFileSync(process.execPath, [path.join(here, script)], { stdio: 'inherit' });
}
