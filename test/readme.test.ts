/**
 * README excerpts are the real files: every block marked `<!-- excerpt: path -->` appears in that
 * file verbatim (pieces separated by a `// ...` line, each contiguous; a first line naming the file
 * is a caption).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers.js';

const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
const excerpts = [...readme.matchAll(/<!-- excerpt: (\S+) -->\n```\w*\n([\s\S]*?)```/g)].map((m) => ({ file: m[1]!, text: m[2]! }));

describe('README excerpts', () => {
  it('has the excerpts this test checks', () => {
    expect(excerpts.map((e) => e.file)).toEqual(expect.arrayContaining(['extensions/billing/schema.prisma', 'examples/client/main.ts']));
  });

  for (const { file, text } of excerpts) {
    it(`${file} contains every piece of its README excerpt`, () => {
      const source = readFileSync(path.join(REPO, file), 'utf8');
      const body = text.replace(new RegExp(`^// ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}( \\(excerpt\\))?\\n`), '');
      const pieces = body.split(/^\/\/ \.\.\.\n/m).filter((p) => p.trim() !== '');
      expect(pieces.length).toBeGreaterThan(0);
      for (const piece of pieces) expect(source).toContain(piece);
    });
  }
});
