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
import { resolveBelow, serveFile } from '../../tools/lib/serve-files.ts';
import { localModelsMiddleware } from '../../tools/vite-local-models.ts';

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
  const localModels = localModelsMiddleware(subPath);
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://host').pathname;
    hits.push(`${req.method} ${path}`);
    localModels(req, res, () => {
      const notFound = () => res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      if (!path.startsWith(subPath)) return notFound();
      const rest = path.slice(subPath.length);
      const file = resolveBelow(root, rest === '' || rest.endsWith('/') ? join(rest, 'index.html') : rest);
      if (!file || !serveFile(req, res, file)) notFound();
    });
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
