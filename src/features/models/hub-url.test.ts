import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_HUB_URL, hubUrl, HUB_URL_STORAGE_KEY } from './hub-url.ts';

function withStored(value: string | null | Error): void {
  vi.stubGlobal('localStorage', {
    getItem: (key: string) => {
      if (value instanceof Error) throw value;
      return key === HUB_URL_STORAGE_KEY ? value : null;
    },
  });
}

describe('hubUrl', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('is huggingface.co unless a Hub URL is stored', () => {
    withStored(null);
    expect(hubUrl()).toBe(DEFAULT_HUB_URL);
  });

  it('uses a stored http(s) mirror, without trailing slashes, query or hash', () => {
    withStored('http://127.0.0.1:8123/');
    expect(hubUrl()).toBe('http://127.0.0.1:8123');
    withStored('https://mirror.example.com/hf//?x=1#y');
    expect(hubUrl()).toBe('https://mirror.example.com/hf');
  });

  it('ignores malformed values, other schemes and storage that throws', () => {
    for (const value of ['not a url', 'javascript:alert(1)', 'file:///etc/passwd', 'data:text/plain,x', new Error('SecurityError')]) {
      withStored(value);
      expect(hubUrl()).toBe(DEFAULT_HUB_URL);
    }
  });
});
