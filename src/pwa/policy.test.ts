import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  catalogConnectSources,
  connectAllowed,
  contentSecurityPolicy,
  HUGGING_FACE_SOURCES,
  LOCAL_SOURCES,
  parsePolicy,
  parseSourceList,
  withHeaders,
} from './policy.ts';

const PAGE = 'https://user.github.io/hanmadi/';

describe('content security policy', () => {
  const catalog = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'public', 'models.json'), 'utf8'));
  const policy = contentSecurityPolicy([...catalogConnectSources(catalog), ...LOCAL_SOURCES], 'meta');

  it('allows scripts only from our origin plus WebAssembly compilation, and nothing inline', () => {
    const directives = parsePolicy(policy);
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(policy).not.toMatch(/unsafe-inline|'unsafe-eval'|data:|blob:/);
    // frame-ancestors is ignored (with a console error) in <meta>; only the header carries it
    expect(directives.has('frame-ancestors')).toBe(false);
    expect(parsePolicy(contentSecurityPolicy([], 'header')).get('frame-ancestors')).toEqual(["'none'"]);
  });

  it('lets the page reach the catalog hosts (Hugging Face and its CDNs), itself and localhost, and nothing else', () => {
    expect(catalogConnectSources(catalog)).toEqual(HUGGING_FACE_SOURCES);
    const allowed = [
      'https://huggingface.co/onnx-community/EXAONE-3.5-2.4B-Instruct/resolve/main/config.json',
      'https://cdn-lfs-us-1.hf.co/repos/ab/cd/file?download=true',
      'https://cas-bridge.xethub.hf.co/xet-bridge-us/abc',
      'https://cdn-lfs.huggingface.co/repos/x',
      'https://user.github.io/hanmadi/models/local/tiny-llama/config.json',
      'models.json',
      'http://localhost:8080/kanana/config.json',
      'http://127.0.0.1:4107/x',
    ];
    for (const url of allowed) expect(connectAllowed(policy, url, PAGE), url).toBe(true);
    const blocked = [
      'https://models.example.com/kanana/config.json',
      'https://huggingface.co.evil.example/x',
      'https://evilhuggingface.co/x',
      'http://huggingface.co:8080/x',
      'https://user.github.io:8443/x',
      'https://other.github.io/hanmadi/',
      'https://www.google-analytics.com/collect',
    ];
    for (const url of blocked) expect(connectAllowed(policy, url, PAGE), url).toBe(false);
  });

  it('adds the origins of absolute folder URLs from the catalog, and MODEL_HOSTS', () => {
    const sources = catalogConnectSources({
      models: [
        { id: 'a', label: 'A', source: { kind: 'url', baseUrl: 'https://models.example.com/kanana/' } },
        { id: 'b', label: 'B', source: { kind: 'url', baseUrl: 'models/b/' } },
      ],
    });
    expect(sources).toEqual(['https://models.example.com']);
    const extra = parseSourceList('https://*.example.org, https://cdn.example.net:8443 https:');
    const custom = contentSecurityPolicy([...sources, ...extra], 'meta');
    expect(connectAllowed(custom, 'https://models.example.com/kanana/onnx/model_q4.onnx', PAGE)).toBe(true);
    expect(connectAllowed(custom, 'https://a.b.example.org/x', PAGE)).toBe(true);
    expect(connectAllowed(custom, 'https://cdn.example.net:8443/x', PAGE)).toBe(true);
    expect(connectAllowed(custom, 'http://insecure.example/x', PAGE)).toBe(false);
    expect(connectAllowed(contentSecurityPolicy(parseSourceList('https:'), 'meta'), 'https://anything.example/x', PAGE)).toBe(true);
  });

  it('refuses MODEL_HOSTS entries that are not CSP sources (no way to inject a directive)', () => {
    expect(() => parseSourceList("https://a.example; script-src 'unsafe-inline'")).toThrow(/not a CSP source/);
    expect(() => parseSourceList("'unsafe-eval'")).toThrow(/not a CSP source/);
    expect(parseSourceList(undefined)).toEqual([]);
  });

  it('honours path parts of sources and treats a missing policy as no restriction', () => {
    const withPath = "default-src 'self'; connect-src https://cdn.example.com/models/ https://x.example.com/exact.json";
    expect(connectAllowed(withPath, 'https://cdn.example.com/models/a/config.json', PAGE)).toBe(true);
    expect(connectAllowed(withPath, 'https://cdn.example.com/other/config.json', PAGE)).toBe(false);
    expect(connectAllowed(withPath, 'https://x.example.com/exact.json', PAGE)).toBe(true);
    expect(connectAllowed(withPath, 'https://x.example.com/exact.json.bak', PAGE)).toBe(false);
    expect(connectAllowed("default-src 'self'", 'https://x.example.com/', PAGE)).toBe(false);
    expect(connectAllowed(null, 'https://x.example.com/', PAGE)).toBe(true);
  });
});

describe('withHeaders', () => {
  it('sets headers on a copy and keeps status, other headers and the streamed body', async () => {
    const original = new Response('partial', {
      status: 206,
      statusText: 'Partial Content',
      headers: { 'Content-Range': 'bytes 0-6/100', 'Content-Type': 'application/octet-stream' },
    });
    const copy = withHeaders(original, { 'Cross-Origin-Embedder-Policy': 'require-corp' });
    expect(copy.status).toBe(206);
    expect(copy.statusText).toBe('Partial Content');
    expect(copy.headers.get('Content-Range')).toBe('bytes 0-6/100');
    expect(copy.headers.get('Cross-Origin-Embedder-Policy')).toBe('require-corp');
    expect(await copy.text()).toBe('partial');
  });

  it('returns opaque responses unchanged (they cannot be rebuilt)', () => {
    const opaque = Response.error();
    expect(withHeaders(opaque, { 'X-Test': '1' })).toBe(opaque);
  });
});
