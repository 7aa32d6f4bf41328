/**
 * The benchmark's one local server: the built bench page (dist-bench/), the converted models
 * under /models/<name>/ and GGUF files under /gguf/, all from one origin with HTTP Range (the
 * store worker downloads one Range request per chunk) and cross-origin isolation (threads for
 * ONNX Runtime's and llama.cpp's WASM, and measureUserAgentSpecificMemory).
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { ISOLATION_HEADERS } from '../../src/pwa/policy.ts';
import { resolveBelow, serveFile } from './serve-files.ts';

const ISOLATION = { ...ISOLATION_HEADERS, 'Cross-Origin-Resource-Policy': 'same-origin' };

export interface BenchServer {
  url: string;
  close(): Promise<void>;
}

/** Where the bench page, the converted models and the GGUF files are, below the repository root. */
export type BenchPaths = ReturnType<typeof benchPaths>;

export async function startBenchServer(dirs: BenchPaths): Promise<BenchServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = path.startsWith('/models/')
      ? { root: dirs.models, rest: path.slice('/models/'.length) }
      : path.startsWith('/gguf/')
        ? { root: dirs.gguf, rest: path.slice('/gguf/'.length) }
        : { root: dirs.page, rest: path === '/' ? 'bench.html' : path };
    const file = resolveBelow(route.root, route.rest);
    if (file && serveFile(req, res, file, { headers: ISOLATION })) return;
    res.writeHead(404, ISOLATION).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('The bench server has no port.');
  return {
    url: `http://localhost:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const benchPaths = (root: string) => ({
  page: join(root, 'dist-bench'),
  models: join(root, 'fixtures', 'models'),
  gguf: join(root, 'fixtures', 'gguf'),
});
