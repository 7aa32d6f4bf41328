/**
 * Vite plugin: pdf.js's predefined CMaps (CJK PDFs whose fonts are not embedded with a Unicode
 * map name them, e.g. UniKS-UCS2-H for Korean) at <base>pdfjs/cmaps/, where
 * src/features/chat/pdf-text.ts points pdf.js. pdf.js asks for them by their own file names, so
 * they are copied as they are (not hashed) into the build, where the service worker precaches the
 * Korean ones (vite.config.ts), and served from node_modules by the dev server.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'vite';

const CMAPS_DIR = join(dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), 'cmaps');
/** Must match PDFJS_CMAPS_PATH in src/features/chat/pdf-text.ts. */
const CMAPS_PATH = 'pdfjs/cmaps/';
const isCMap = (name: string) => name.endsWith('.bcmap');

export function pdfjsAssets(): Plugin {
  return {
    name: 'hanmadi-pdfjs-assets',
    configureServer(server) {
      const base = server.config.base.startsWith('/') ? server.config.base : '/';
      server.middlewares.use((req, res, next) => {
        const path = new URL(req.url ?? '/', 'http://localhost').pathname;
        const name = path.startsWith(`${base}${CMAPS_PATH}`) ? path.slice(base.length + CMAPS_PATH.length) : '';
        if (!isCMap(name) || name.includes('/') || !readdirSync(CMAPS_DIR).includes(name)) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(readFileSync(join(CMAPS_DIR, name)));
      });
    },
    generateBundle() {
      for (const name of readdirSync(CMAPS_DIR).filter(isCMap)) {
        this.emitFile({ type: 'asset', fileName: `${CMAPS_PATH}${name}`, source: readFileSync(join(CMAPS_DIR, name)) });
      }
    },
  };
}
