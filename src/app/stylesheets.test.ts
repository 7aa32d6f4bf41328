/**
 * The stylesheets' layout (docs/architecture.md, "Styles"): each sheet sits beside the components
 * that import it (tokens.css and base.css are imported by src/main.tsx, ahead of the App), and
 * none grows past 400 lines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..');
const MAX_LINES = 400;

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path, ext);
    return ext.test(entry.name) ? [path] : [];
  });
}

const sheets = files(SRC, /\.css$/);
const modules = files(SRC, /\.tsx?$/).filter((path) => !/\.test\.tsx?$/.test(path));
/** Each stylesheet → the modules that import it. */
const importers = new Map(sheets.map((sheet) => [sheet, [] as string[]]));
for (const module of modules) {
  for (const [, spec] of readFileSync(module, 'utf8').matchAll(/^import '([^']+\.css)';$/gm)) importers.get(join(dirname(module), spec))?.push(module);
}

describe('stylesheets', () => {
  it(`none is longer than ${MAX_LINES} lines`, () => {
    expect(sheets.length).toBeGreaterThan(0);
    const long = sheets
      .map((sheet) => [relative(SRC, sheet), readFileSync(sheet, 'utf8').split('\n').length] as const)
      .filter(([, lines]) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it('each is imported by a component beside it (the base sheets by main.tsx)', () => {
    const main = join(SRC, 'main.tsx');
    const misplaced = sheets
      .filter((sheet) => {
        const by = importers.get(sheet)!;
        return by.length === 0 || by.some((module) => module !== main && dirname(module) !== dirname(sheet));
      })
      .map(
        (sheet) =>
          `${relative(SRC, sheet)} ← ${
            importers
              .get(sheet)!
              .map((m) => relative(SRC, m))
              .join(', ') || 'nothing'
          }`,
      );
    expect(misplaced).toEqual([]);
  });
});
