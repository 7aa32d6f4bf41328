/**
 * Serves files from disk over node:http with what model downloads need: HEAD, single-range
 * `Range: bytes=a-b` requests (206 + Content-Range, 416 when unsatisfiable), a stable ETag from
 * size and mtime, and CORS so a page on another port can read them. Shared by `npm start`'s Vite
 * middleware and the e2e test servers.
 */
import { createReadStream, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
};

/** Resolves a URL path below `root`, refusing anything that escapes it. */
export function resolveBelow(root: string, urlPath: string): string | null {
  const relative = normalize(decodeURIComponent(urlPath)).replace(/^([/\\])+/, '');
  if (relative.split(/[/\\]/).includes('..')) return null;
  const file = join(root, relative);
  return file === root || file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : null;
}

export interface ServeOptions {
  /** Extra response headers (e.g. COOP/COEP). */
  headers?: Record<string, string>;
}

/** Answers `req` with the file, or returns false when it does not exist (the caller decides what 404 means). */
export function serveFile(req: IncomingMessage, res: ServerResponse, file: string, options: ServeOptions = {}): boolean {
  let size: number;
  let etag: string;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return false;
    size = stat.size;
    etag = `"${size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  } catch {
    return false;
  }
  const headers: Record<string, string | number> = {
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Cache-Control': 'no-cache',
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Expose-Headers': 'Content-Length, Content-Range, ETag, Accept-Ranges',
    'Cross-Origin-Resource-Policy': 'cross-origin',
    ...options.headers,
  };
  const rangeHeader = req.headers.range;
  if (rangeHeader) {
    const range = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader);
    let start = range && range[1] !== '' ? Number(range[1]) : NaN;
    let end = range && range[2] !== '' ? Number(range[2]) : size - 1;
    if (range && range[1] === '' && range[2] !== '') {
      // suffix range: the last N bytes
      start = Math.max(0, size - Number(range[2]));
      end = size - 1;
    }
    end = Math.min(end, size - 1);
    if (!range || !(start >= 0) || start > end) {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` }).end();
      return true;
    }
    res.writeHead(206, { ...headers, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file, { start, end }).pipe(res);
    return true;
  }
  res.writeHead(200, { ...headers, 'Content-Length': size });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
  return true;
}
