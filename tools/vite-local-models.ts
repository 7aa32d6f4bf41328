/**
 * Vite plugin for `npm run dev` / `npm start` (vite preview): serves the generated test models
 * under <base>models/local/ (with HTTP Range) and their catalog at <base>models/local.json. A
 * static deployment has neither, and the app then simply offers no test models.
 */
import type { Connect, Plugin } from 'vite';
import { listLocalModels } from './lib/local-models.ts';
import { FIXTURE_MODELS_DIR } from '../src/testing/fixture-specs.ts';
import { resolveBelow, serveFile } from './lib/serve-files.ts';

/** The routes, under `configuredBase`; the e2e static host mounts them too. */
export function localModelsMiddleware(configuredBase: string): Connect.NextHandleFunction {
  // A relative base ('./', for static hosting under any sub-path) is served from the root.
  const base = configuredBase.startsWith('/') ? configuredBase : '/';
  const prefix = `${base}models/local/`;
  const catalog = `${base}models/local.json`;
  return (req, res, next) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === catalog) {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Cache-Control', 'no-cache');
      res.end(JSON.stringify({ models: listLocalModels() }));
      return;
    }
    if (path.startsWith(prefix)) {
      const file = resolveBelow(FIXTURE_MODELS_DIR, path.slice(prefix.length));
      if (file && serveFile(req, res, file)) return;
      res.statusCode = 404;
      res.end();
      return;
    }
    next();
  };
}

export function localModels(): Plugin {
  return {
    name: 'hanmadi-local-models',
    configureServer(server) {
      server.middlewares.use(localModelsMiddleware(server.config.base));
    },
    configurePreviewServer(server) {
      server.middlewares.use(localModelsMiddleware(server.config.base));
    },
  };
}
