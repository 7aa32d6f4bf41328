/**
 * Every UI string goes through t(): this scans src/**\/*.tsx with the TypeScript parser for JSX
 * text and user-visible string attributes (aria-label, title, placeholder, alt) that contain
 * letters. Punctuation, numbers and symbols (·, …, ×) are fine as literals.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const VISIBLE_ATTRIBUTES = new Set(['aria-label', 'title', 'placeholder', 'alt']);
const HAS_LETTER = /\p{L}/u;

export function findHardCodedStrings(fileName: string, source: string): string[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
  const found: string[] = [];
  const report = (node: ts.Node, text: string) => {
    const { line } = file.getLineAndCharacterOfPosition(node.getStart(file));
    found.push(`${fileName}:${line + 1}: ${JSON.stringify(text.trim())}`);
  };
  const visit = (node: ts.Node) => {
    if (ts.isJsxText(node) && HAS_LETTER.test(node.text)) report(node, node.text);
    if (ts.isJsxAttribute(node) && VISIBLE_ATTRIBUTES.has(node.name.getText(file)) && node.initializer) {
      const init = node.initializer;
      const literal = ts.isStringLiteral(init)
        ? init
        : ts.isJsxExpression(init) && init.expression && ts.isStringLiteral(init.expression)
          ? init.expression
          : null;
      if (literal && HAS_LETTER.test(literal.text)) report(node, literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function tsxFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsxFiles(path);
    return entry.name.endsWith('.tsx') && !entry.name.endsWith('.test.tsx') ? [path] : [];
  });
}

describe('hard-coded UI strings', () => {
  it('detects JSX text and visible attributes that bypass t()', () => {
    const sample = `export const A = () => <div title="Hello" aria-label={'Close'}>Send now<span>{t('x')}</span> · 3 </div>;`;
    expect(findHardCodedStrings('sample.tsx', sample)).toHaveLength(3);
    expect(findHardCodedStrings('ok.tsx', `export const B = () => <p title={t('a')}>{t('b')} … 42</p>;`)).toEqual([]);
  });

  it('finds none in src/**/*.tsx', () => {
    const src = join(import.meta.dirname, '..');
    const files = tsxFiles(src);
    expect(files.length).toBeGreaterThan(0);
    const found = files.flatMap((path) => findHardCodedStrings(relative(src, path), readFileSync(path, 'utf8')));
    expect(found).toEqual([]);
  });
});
