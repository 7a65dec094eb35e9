// The design as first sketched: one process per owner that starts Prisma's schema engine and
// computes that owner's diff (the lower bound of shelling out to `prisma migrate diff` per owner).
// Usage: node bench/baseline-owner.mjs <projectRoot> <owner>
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist');
const [root, ownerName] = process.argv.slice(2);
const { loadSettings } = await import(`${dist}/config/settings.js`);
const { loadProject } = await import(`${dist}/project/project.js`);
const { readSchemaText } = await import(`${dist}/schema/sources.js`);
const { world } = await import(`${dist}/plan/revision.js`);
const { startWasmEngine } = await import(`${dist}/engine/engine.js`);

const project = loadProject(loadSettings(root));
const owner = project.owners.find((o) => o.name === ownerName);
const current = new Map(project.owners.map((o) => [o.name, readSchemaText(project, o)]));
const engine = await startWasmEngine({ url: process.env.DATABASE_URL || undefined });
const before = world(project, owner, current, null);
const after = world(project, owner, current, current.get(owner.name));
const sql = await engine.diff(before ? before.files : 'empty', after.files);
await engine.close();
process.stdout.write(String(sql.length));
