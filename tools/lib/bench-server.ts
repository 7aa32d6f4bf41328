/**
 * The benchmark's one local server: the built bench page (dist-bench/), the converted models
 * under /models/<name>/ and GGUF files under /gguf/, all from one origin with HTTP Range (the
 * store worker downloads one Range request per chunk) and cross-origin isolation (threads for
 * ONNX Runtime's and llama.cpp's WASM, and measureUserAgentSpecificMemory).
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { resolveBelow, serveFile } from './serve-files.ts';

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface BenchServer {
  url: string;
  /** Bytes of response bodies started (Range and whole files), for a sanity check of what was fetched. */
  requests: { path: string; range?: string }[];
  close(): Promise<void>;
}

export async function startBenchServer(dirs: { page: string; models: string; gguf: string }, port = 0): Promise<BenchServer> {
  const requests: BenchServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = path.startsWith('/models/') ? { root: dirs.models, rest: path.slice('/models/'.length) } : path.startsWith('/gguf/') ? { root: dirs.gguf, rest: path.slice('/gguf/'.length) } : { root: dirs.page, rest: path === '/' ? 'bench.html' : path };
    if (route.root !== dirs.page) requests.push({ path, ...(req.headers.range ? { range: req.headers.range } : {}) });
    const file = resolveBelow(route.root, route.rest);
    if (file && serveFile(req, res, file, { headers: ISOLATION })) return;
    res.writeHead(404, ISOLATION).end();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://localhost:${actual}`,
    requests,
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
