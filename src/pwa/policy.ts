/**
 * What the app may load and talk to, in one place, shared by the build (vite.config.ts), the
 * service worker and the UI:
 *
 * - the Content-Security-Policy: a <meta> tag in the built index.html (static hosts rarely let a
 *   site set headers), and the same policy as a header on everything the service worker serves,
 *   which is what reaches the LLM worker (a <meta> policy never applies to workers);
 * - the cross-origin isolation headers (COOP/COEP) the service worker adds, so ONNX Runtime's
 *   WASM backend gets SharedArrayBuffer (threads) on hosts that cannot send them.
 *
 * Pure code: no DOM, no service-worker globals (Response and URL exist in Node too).
 */
import { parseCatalog } from '../model/catalog.ts';

/** The Hugging Face Hub and the hosts its `resolve/` URLs redirect to (LFS and Xet CDNs). */
export const HUGGING_FACE_SOURCES = ['https://huggingface.co', 'https://*.huggingface.co', 'https://hf.co', 'https://*.hf.co'];

/**
 * Model folders served from this machine: a converted model on `npx serve`, the test servers.
 * Reaching localhost is no way to leak a conversation to a third party, and it keeps "convert,
 * serve locally, Add model" working on any deployment.
 */
export const LOCAL_SOURCES = ['http://localhost:*', 'http://127.0.0.1:*'];

export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  // require-corp, not credentialless: model hosts are read with CORS, which it allows, and
  // Safari does not support credentialless.
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** The connect-src sources a catalog needs: Hugging Face for hub models, the origin of absolute folder URLs. */
export function catalogConnectSources(catalogJson: unknown): string[] {
  const sources = new Set<string>();
  for (const entry of parseCatalog(catalogJson)) {
    if (entry.source.kind !== 'url') HUGGING_FACE_SOURCES.forEach((s) => sources.add(s));
    else if (/^https?:\/\//i.test(entry.source.baseUrl)) sources.add(new URL(entry.source.baseUrl).origin);
    // a relative folder URL is on our own origin: 'self'
  }
  return [...sources];
}

const KEYWORD_OR_SCHEME = /^(\*|'self'|[a-z][a-z0-9+.-]*:)$/i;
const HOST_SOURCE = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::(?:\d+|\*))?(?:\/[^\s;,'"]*)?$/i;

/**
 * Extra connect-src sources from the environment at build time (`MODEL_HOSTS`, separated by
 * spaces or commas), checked so a typo cannot inject another directive into the policy.
 */
export function parseSourceList(text: string | undefined): string[] {
  const sources = (text ?? '').split(/[\s,]+/).filter(Boolean);
  for (const source of sources) {
    if (!KEYWORD_OR_SCHEME.test(source) && !HOST_SOURCE.test(source)) {
      throw new Error(`MODEL_HOSTS: "${source}" is not a CSP source (e.g. https://models.example.com, https://*.example.com, https:)`);
    }
  }
  return sources;
}

export type PolicyDelivery = 'meta' | 'header';

/**
 * The policy. Nothing inline; 'wasm-unsafe-eval' is the one allowance ONNX Runtime needs to
 * compile its WebAssembly; every other fetch type falls back to default-src 'self'.
 * frame-ancestors only works as a header (browsers ignore it, with a console error, in <meta>).
 */
export function contentSecurityPolicy(connectSources: readonly string[], delivery: PolicyDelivery): string {
  const directives: [string, string[]][] = [
    ['default-src', ["'self'"]],
    ['script-src', ["'self'", "'wasm-unsafe-eval'"]],
    ['connect-src', ["'self'", ...new Set(connectSources)]],
    ['object-src', ["'none'"]],
    ['base-uri', ["'self'"]],
    ['form-action', ["'self'"]],
  ];
  if (delivery === 'header') directives.push(['frame-ancestors', ["'none'"]]);
  return directives.map(([name, sources]) => `${name} ${sources.join(' ')}`).join('; ');
}

/** Directive name → its sources. */
export function parsePolicy(policy: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name && !directives.has(name.toLowerCase())) directives.set(name.toLowerCase(), sources);
  }
  return directives;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };

/**
 * CSP source matching (CSP3 §6.7.2.8, the parts our policies use: keywords, schemes, host
 * wildcards, ports, paths). Hand-written: CSP libraries parse or evaluate policies, none matches a
 * URL against a source list in the browser, and the browser itself offers no API for it.
 */
function sourceMatches(source: string, url: URL, self: URL): boolean {
  const lower = source.toLowerCase();
  if (lower === "'self'") return url.origin === self.origin || (self.protocol === 'http:' && url.protocol === 'https:' && url.host === self.host);
  if (lower === '*') return ['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) || url.protocol === self.protocol;
  if (/^[a-z][a-z0-9+.-]*:$/.test(lower)) return url.protocol === lower || (lower === 'http:' && url.protocol === 'https:');
  const match = /^(?:([a-z][a-z0-9+.-]*:)\/\/)?(\*\.)?([^:/]+)(?::(\d+|\*))?(\/.*)?$/.exec(lower);
  if (!match) return false;
  const [, scheme, wildcard, host, port, path] = match;
  if (scheme) {
    if (url.protocol !== scheme && !(scheme === 'http:' && url.protocol === 'https:')) return false;
  } else if (url.protocol !== self.protocol && !(self.protocol === 'http:' && url.protocol === 'https:')) {
    return false;
  }
  const urlHost = url.hostname.toLowerCase();
  if (wildcard ? !urlHost.endsWith(`.${host}`) : urlHost !== host) return false;
  const urlPort = url.port || DEFAULT_PORTS[url.protocol] || '';
  if (port !== '*') {
    const wanted = port ?? DEFAULT_PORTS[scheme ?? url.protocol];
    // http://host also matches https://host:443 (the upgrade)
    if (urlPort !== wanted && !(port === undefined && scheme === 'http:' && url.protocol === 'https:' && urlPort === '443')) return false;
  }
  if (path && path !== '/') {
    const urlPath = decodeURIComponent(url.pathname);
    return path.endsWith('/') ? urlPath.startsWith(path) : urlPath === path;
  }
  return true;
}

/**
 * Whether `policy` lets the page fetch `url` (connect-src, else default-src; no directive means
 * allowed). Used to tell the user why a model host cannot be reached, before the browser just
 * says "failed to fetch".
 */
export function connectAllowed(policy: string | null, url: string, pageUrl: string): boolean {
  if (!policy) return true;
  const directives = parsePolicy(policy);
  const sources = directives.get('connect-src') ?? directives.get('default-src');
  if (!sources) return true;
  const target = new URL(url, pageUrl);
  const self = new URL(pageUrl);
  return sources.some((source) => sourceMatches(source, target, self));
}

/**
 * A copy of `response` with `headers` set. Opaque responses cannot be read or rebuilt and are
 * returned as they are; the body stays a stream (never buffered).
 */
export function withHeaders(response: Response, headers: Readonly<Record<string, string>>): Response {
  if (response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) return response;
  const merged = new Headers(response.headers);
  for (const [name, value] of Object.entries(headers)) merged.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: merged });
}
