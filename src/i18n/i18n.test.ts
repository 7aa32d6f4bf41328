import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../lib/errors.ts';
import en from './en.json';
import ko from './ko.json';
import { detectLanguage } from './language.ts';

function keyPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => keyPaths(child, prefix ? `${prefix}.${key}` : key));
}

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
}

function leaf(tree: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], tree);
}

describe('locales', () => {
  it('en.json and ko.json have identical key sets', () => {
    const enKeys = keyPaths(en).sort();
    const koKeys = keyPaths(ko).sort();
    expect(koKeys.filter((k) => !enKeys.includes(k))).toEqual([]);
    expect(enKeys.filter((k) => !koKeys.includes(k))).toEqual([]);
  });

  it('every translation is a non-empty string with the same {{placeholders}}', () => {
    for (const key of keyPaths(en)) {
      const enText = leaf(en, key);
      const koText = leaf(ko, key);
      expect(typeof enText, key).toBe('string');
      expect(typeof koText, key).toBe('string');
      expect((koText as string).trim(), key).not.toBe('');
      expect(placeholders(koText as string), key).toEqual(placeholders(enText as string));
    }
  });

  it('has a message for every error code, in both languages', () => {
    for (const code of ERROR_CODES) {
      expect(keyPaths(en), code).toContain(`errors.${code}`);
      expect(keyPaths(ko), code).toContain(`errors.${code}`);
    }
  });
});

describe('detectLanguage', () => {
  it('prefers ?lang= over the stored choice over the browser language', () => {
    expect(detectLanguage({ search: '?lang=en', stored: 'ko', navigatorLanguages: ['ko-KR'] })).toBe('en');
    expect(detectLanguage({ search: '?lang=xx', stored: 'ko', navigatorLanguages: ['en-US'] })).toBe('ko');
    expect(detectLanguage({ search: '', stored: null, navigatorLanguages: ['ko-KR', 'en'] })).toBe('ko');
    expect(detectLanguage({ search: '', stored: 'fr', navigatorLanguages: ['fr-FR', 'en-GB'] })).toBe('en');
    expect(detectLanguage({ search: '', stored: null, navigatorLanguages: ['ja'] })).toBe('en');
  });
});
