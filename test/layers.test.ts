/**
 * Layers only point down: a module may import from its own layer or a lower one, never from a
 * higher one. The order, lowest first:
 *
 *   errors     src/errors.ts
 *   input      config/, project/, migrations/, schema/   reading and composing the project
 *   sql        db/driver.ts (the driver port), db/split.ts, db/split-sqlite.ts, db/splitter.ts,
 *              db/postgres-dialect.ts, db/sqlite-dialect.ts, db/dialects.ts, db/history.ts
 *              (pure SQL text and the history rows read through the port)
 *   core       plan/, apply/                              plans as data, rendering
 *   adapters   db/, engine/, shadow/                       connections, runner, schema engines, replay
 *   api        api/, index.ts, bridge-support.ts           use cases and the public API
 *   commands   commands/                                   one file per command, wording
 *   cli        cli.ts                                      flags, output, exit codes
 *
 * Workspace packages (packages/*) sit outside this order: they use orchestrate only as a user
 * does, through the entries of its package.json `exports`.
 */
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers.js';

const LAYERS: { name: string; match: (file: string) => boolean }[] = [
  { name: 'errors', match: (f) => f === 'src/errors.ts' },
  { name: 'input', match: (f) => /^src\/(config|project|migrations|schema)\//.test(f) },
  { name: 'sql', match: (f) => /^src\/db\/(driver|split|split-sqlite|splitter|postgres-dialect|sqlite-dialect|dialects|history)\.ts$/.test(f) },
  { name: 'core', match: (f) => /^src\/(plan|apply)\//.test(f) },
  { name: 'adapters', match: (f) => /^src\/(db|engine|shadow)\//.test(f) },
  { name: 'api', match: (f) => /^src\/api\//.test(f) || f === 'src/index.ts' || f === 'src/bridge-support.ts' },
  // fleets run the public API once per tenant database
  { name: 'fleet', match: (f) => /^src\/fleet\//.test(f) },
  { name: 'commands', match: (f) => /^src\/commands\//.test(f) },
  { name: 'cli', match: (f) => f === 'src/cli.ts' },
];

/**
 * Upward imports allowed for now, each with the reason it still exists. Remove an entry as soon
 * as its reason is gone; the test fails on an entry that is no longer needed.
 */
const ALLOWED = new Map<string, string>([
]);

function layerOf(file: string): number {
  return LAYERS.findIndex((l) => l.match(file));
}

/** Every module specifier of a source text: static, re-exports, type-only and dynamic `import()`. */
function specifiersOf(text: string): string[] {
  const found: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) found.push((m[1] ?? m[2] ?? m[3])!);
  return found;
}

/** Relative imports of a source text. */
function importsOf(text: string): string[] {
  return specifiersOf(text).filter((spec) => spec.startsWith('.'));
}

/** `src/a/b.ts` importing `../c/d.js` → `src/c/d.ts`. */
function resolveImport(from: string, spec: string): string {
  return path.posix.join(path.posix.dirname(from), spec).replace(/\.js$/, '.ts');
}

/** Every upward edge among `files` (path → source text). */
function upwardImports(files: Map<string, string>): { edge: string; from: string; to: string }[] {
  const edges: { edge: string; from: string; to: string }[] = [];
  for (const [file, text] of files) {
    for (const spec of importsOf(text)) {
      const target = resolveImport(file, spec);
      const from = layerOf(file);
      const to = layerOf(target);
      if (to > from) edges.push({ edge: `${file} -> ${target}`, from: LAYERS[from]!.name, to: LAYERS[to]!.name });
    }
  }
  return edges;
}

function sources(root = 'src'): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) files.set(rel, readFileSync(path.join(REPO, rel), 'utf8'));
    }
  };
  walk(root);
  return files;
}

type Manifest = { name: string; exports?: Record<string, unknown>; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
const manifestOf = (dir: string) => JSON.parse(readFileSync(path.join(REPO, dir, 'package.json'), 'utf8')) as Manifest;

/**
 * Imports of a workspace package's sources (`packages/<name>/src`, files keyed by repository
 * path) that do not go through a public door: a relative path out of the package, a Node module
 * that does not exist, a package it does not declare as a dependency, or a part of `orchestrate`
 * that is not an entry of its `exports`.
 */
function privateImports(pkgDir: string, files: Map<string, string>, pkg: Manifest, root: Manifest): string[] {
  const own = path.posix.join(pkgDir, 'src');
  const doors = new Set(Object.keys(root.exports ?? {}).map((key) => path.posix.join(root.name, key)));
  const found: string[] = [];
  for (const [file, text] of files) {
    for (const spec of specifiersOf(text)) {
      const bad = (why: string) => found.push(`${file} -> ${spec} (${why})`);
      if (spec.startsWith('.')) {
        const target = path.posix.join(path.posix.dirname(file), spec);
        if (!target.startsWith(`${own}/`)) bad('a path outside the package');
      } else if (spec.startsWith('node:')) {
        if (!builtinModules.includes(spec.slice('node:'.length))) bad('no such Node module');
      } else {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!pkg.dependencies?.[name]) bad('not a dependency of the package');
        else if (name === root.name && !doors.has(spec)) bad(`not an entry of ${root.name}'s exports`);
      }
    }
  }
  return found;
}

describe('layers', () => {
  const files = sources();

  it('places every source file in a layer', () => {
    const unplaced = [...files.keys()].filter((f) => layerOf(f) < 0);
    expect(unplaced, 'add the new folder to LAYERS in test/layers.test.ts').toEqual([]);
  });

  it('has no import from a lower layer into a higher one, except the listed ones', () => {
    const upward = upwardImports(files);
    const unexpected = upward.filter((u) => !ALLOWED.has(u.edge)).map((u) => `${u.edge} (${u.from} imports ${u.to})`);
    expect(unexpected).toEqual([]);
    const stale = [...ALLOWED.keys()].filter((edge) => !upward.some((u) => u.edge === edge));
    expect(stale, 'these exceptions are no longer needed: remove them').toEqual([]);
  });

  it('lets workspace packages import orchestrate only through its package.json exports', () => {
    const root = manifestOf('.');
    const packages = readdirSync(path.join(REPO, 'packages')).filter((d) => existsSync(path.join(REPO, 'packages', d, 'package.json')));
    expect(packages).toContain('schema-engine-bridge');
    for (const dir of packages.map((d) => `packages/${d}`)) {
      const pkg = manifestOf(dir);
      const files = sources(`${dir}/src`);
      expect(files.size, dir).toBeGreaterThan(0);
      expect(privateImports(dir, files, pkg, root), dir).toEqual([]);
      if ([...files.values()].some((text) => specifiersOf(text).some((s) => s.startsWith(`${root.name}/`) || s === root.name))) {
        expect(pkg.dependencies?.[root.name], `${dir} names ${root.name} as a workspace dependency`).toBe('workspace:*');
      }
    }
    // The check itself: each way around the public entries is caught.
    const sneaky = new Map([
      [
        'packages/x/src/a.ts',
        [
          "import { pgTarget } from '../../../src/db/pg-config.js';",
          "import { openClient } from 'orchestrate/dist/db/postgres.js';",
          "import { x } from 'left-pad';",
          "import { y } from 'orchestrate/bridge-support';",
          "import { z } from './b.js';",
        ].join('\n'),
      ],
    ]);
    const caught = privateImports('packages/x', sneaky, { name: 'x', dependencies: { orchestrate: 'workspace:*' } }, root);
    expect(caught).toEqual([
      'packages/x/src/a.ts -> ../../../src/db/pg-config.js (a path outside the package)',
      "packages/x/src/a.ts -> orchestrate/dist/db/postgres.js (not an entry of orchestrate's exports)",
      'packages/x/src/a.ts -> left-pad (not a dependency of the package)',
    ]);
  });

  it('finds every form of import, so a violation cannot hide', () => {
    const text = [
      "import { a } from '../commands/x.js';",
      "import type { B } from '../commands/y.js';",
      "export { c } from '../cli.js';",
      "const d = await import('../api/z.js');",
      "import {\n  e,\n  f,\n} from '../commands/w.js';",
      "import '../commands/side-effect.js';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['../commands/x.js', '../commands/y.js', '../cli.js', '../api/z.js', '../commands/w.js', '../commands/side-effect.js']);
    const edges = upwardImports(new Map([['src/db/example.ts', text]])).map((u) => u.edge);
    expect(edges).toContain('src/db/example.ts -> src/commands/x.ts');
    expect(edges).toContain('src/db/example.ts -> src/api/z.ts');
    expect(upwardImports(new Map([['src/commands/example.ts', "import { x } from '../db/connect.js';"]]))).toEqual([]);
  });
});
