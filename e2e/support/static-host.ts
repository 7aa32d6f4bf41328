/**
 * A plain static host for the built app, as GitHub Pages or any file server would be: files only,
 * under a sub-path, no COOP/COEP, no CSP header (only tools/lib/serve-files.ts's ETag, Range
 * and CORS). Beside it, like `npm start`, the generated test models at <sub-path>models/local/
 * and their catalog. It logs every request it answers, and its root can be swapped to publish
 * a new build.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FIXTURE_MODELS_DIR, listLocalModels } from '../../tools/lib/local-models.ts';
import { resolveBelow, serveFile } from '../../tools/lib/serve-files.ts';

export interface StaticHost {
  /** The app's URL: origin + sub-path, ending in '/'. */
  url: string;
  origin: string;
  /** Every request answered since the last clear, as "METHOD /path". */
  hits: string[];
  /** Publishes another build (the next request sees it). */
  setRoot(dir: string): void;
  close(): Promise<void>;
}

export async function startStaticHost(options: { root: string; subPath: string }): Promise<StaticHost> {
  const { subPath } = options;
  let root = options.root;
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://host').pathname;
    hits.push(`${req.method} ${path}`);
    const notFound = () => res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    if (!path.startsWith(subPath)) return notFound();
    const rest = path.slice(subPath.length);
    if (rest === 'models/local.json') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' }).end(JSON.stringify({ models: listLocalModels() }));
      return;
    }
    const file = rest.startsWith('models/local/')
      ? resolveBelow(FIXTURE_MODELS_DIR, rest.slice('models/local/'.length))
      : resolveBelow(root, rest === '' || rest.endsWith('/') ? join(rest, 'index.html') : rest);
    if (!file || !serveFile(req, res, file)) notFound();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}${subPath}`,
    origin,
    hits,
    setRoot: (dir) => {
      root = dir;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
