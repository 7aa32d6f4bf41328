/**
 * A loopback stand-in for the Hugging Face Hub (Node only), for converter tests and the browser
 * e2e of in-browser conversion. It serves model repos from folders with the parts of the Hub the
 * app uses: `GET /api/models/{repo}/revision/{rev}[?blobs=true]` (sha, gated, siblings with size
 * and LFS sha256) and `GET /{repo}/resolve/{rev}/{path}` with HTTP Range (optionally redirected to
 * a CDN path, as the Hub does for LFS files), the Hub's error headers (X-Error-Code GatedRepo,
 * RepoNotFound, RevisionNotFound, EntryNotFound) and CORS. Every request is logged with its byte
 * range, and faults can be injected: a network cut after N body bytes, a network that is down,
 * failing statuses, a server that ignores Range, or a byte of a file flipped in one response.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, relative } from 'node:path';
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export interface MockRepo {
  /** Folder whose files (recursively) are the repo's files. */
  dir: string;
  /** The commit sha the default branch points to (default: derived from the repo id). */
  sha?: string;
  /** Gated repos list metadata to everyone but serve files only with an allowed token. */
  gated?: false | 'auto' | 'manual';
}

export interface MockHubOptions {
  repos: Record<string, MockRepo>;
  /** Bearer tokens that may read gated repos. */
  tokens?: string[];
  /** Redirect resolve requests for LFS files to `/cdn/{sha256}`, as the Hub does (default false). */
  redirectLfs?: boolean;
}

export interface HubRequest {
  method: string;
  path: string;
  /** `owner/name` and the file path, for resolve and CDN requests. */
  repo?: string;
  file?: string;
  /** Inclusive byte range asked for, when the request had a Range header. */
  range?: { start: number; end: number };
  status: number;
  /** Body bytes actually sent (less than asked when cut). */
  bytesSent: number;
}

interface RepoFile {
  path: string;
  absolute: string;
  size: number;
  lfsSha256?: string;
  blobId: string;
}

export interface MockHub {
  url: string;
  /** Every request so far, in arrival order. */
  log: HubRequest[];
  /** Commit sha of a repo's default branch. */
  shaOf(repo: string): string;
  /**
   * The next `bytes` body bytes of file responses are sent, then the connection drops; the
   * network then stays down (until setNetworkDown(false)) unless `staysDown` is false.
   */
  cutAfter(bytes: number, staysDown?: boolean): void;
  /**
   * The connection serving `file` (a repo path) drops just before the file's byte `offset` would
   * be sent; the network then stays down (until setNetworkDown(false)) unless `staysDown` is false.
   */
  cutFileAt(file: string, offset: number, staysDown?: boolean): void;
  /** Network down: every request's connection is dropped before an answer. */
  setNetworkDown(down: boolean): void;
  /** The next `count` requests are answered with `status` (e.g. 503). */
  failNext(count: number, status: number): void;
  /** Answer range requests with the whole file (200), like a server without Range support. */
  setIgnoreRange(ignore: boolean): void;
  /**
   * The next response body that carries byte `offset` of `file` (a repo path) carries it with its
   * bits inverted, as a transfer that went wrong would; later responses are right again.
   */
  flipByte(file: string, offset: number): void;
  /** Whether a flip asked for with flipByte has been sent. */
  readonly flipSent: boolean;
  close(): Promise<void>;
}

const LFS_MIN_BYTES = 10 * 1024 * 1024;
const HASH_BLOCK_BYTES = 16 * 1024 * 1024;

function listFiles(dir: string): RepoFile[] {
  const files: RepoFile[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const absolute = join(folder, entry.name);
      if (entry.isDirectory()) {
        walk(absolute);
        continue;
      }
      const path = relative(dir, absolute).split('\\').join('/');
      const size = statSync(absolute).size;
      const lfs = path.endsWith('.safetensors') || size >= LFS_MIN_BYTES;
      // Git blob id (as the Hub reports it) and LFS sha256, read in blocks: a bench checkpoint is
      // several GB, past what one Buffer may hold.
      const blob = createHash('sha1').update(`blob ${size}\0`);
      const content = lfs ? createHash('sha256') : null;
      const fd = openSync(absolute, 'r');
      try {
        const block = Buffer.allocUnsafe(Math.min(HASH_BLOCK_BYTES, Math.max(1, size)));
        for (let read = readSync(fd, block); read > 0; read = readSync(fd, block)) {
          blob.update(block.subarray(0, read));
          content?.update(block.subarray(0, read));
        }
      } finally {
        closeSync(fd);
      }
      const blobId = blob.digest('hex');
      files.push({ path, absolute, size, blobId, ...(content ? { lfsSha256: content.digest('hex') } : {}) });
    }
  };
  walk(dir);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges, ETag, X-Error-Code, X-Error-Message, X-Repo-Commit',
};

export async function startMockHub(options: MockHubOptions): Promise<MockHub> {
  const repos = new Map(
    Object.entries(options.repos).map(([id, repo]) => {
      const sha = repo.sha ?? bytesToHex(sha1(new TextEncoder().encode(`mock-hub:${id}`)));
      return [id, { ...repo, sha, files: listFiles(repo.dir) }];
    }),
  );
  const byLfsSha = new Map<string, { repo: string; file: RepoFile }>();
  for (const [id, repo] of repos) for (const file of repo.files) if (file.lfsSha256) byLfsSha.set(file.lfsSha256, { repo: id, file });
  const tokens = new Set(options.tokens ?? []);
  const log: HubRequest[] = [];
  let cutBudget: number | null = null;
  let cutStaysDown = true;
  let fileCut: { file: string; offset: number } | null = null;
  let networkDown = false;
  let failures: { count: number; status: number } = { count: 0, status: 503 };
  let ignoreRange = false;
  let flip: { file: string; offset: number } | null = null;
  let flipSent = false;

  const error = (res: ServerResponse, entry: HubRequest, status: number, code: string, message: string) => {
    entry.status = status;
    res.writeHead(status, { ...CORS, 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message });
    res.end(JSON.stringify({ error: message }));
  };

  const serveFile = (req: IncomingMessage, res: ServerResponse, entry: HubRequest, file: RepoFile, commit: string) => {
    entry.file = file.path;
    const headers: Record<string, string | number> = {
      ...CORS,
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: `"${file.lfsSha256 ?? file.blobId}"`,
      'X-Repo-Commit': commit,
    };
    const rangeHeader = req.headers.range;
    const range = /^bytes=(\d+)-(\d*)$/.exec(rangeHeader ?? '');
    let start = 0;
    let end = file.size - 1;
    if (rangeHeader && !range) return error(res, entry, 416, 'RangeNotSatisfiable', 'Only single byte ranges are supported.');
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), file.size - 1) : file.size - 1;
      entry.range = { start, end };
      if (start >= file.size || end < start) {
        entry.status = 416;
        res.writeHead(416, { ...headers, 'Content-Range': `bytes */${file.size}` }).end();
        return;
      }
    }
    if (range && ignoreRange) {
      start = 0;
      end = file.size - 1;
    }
    const partial = range !== null && !ignoreRange;
    entry.status = partial ? 206 : 200;
    res.writeHead(entry.status, {
      ...headers,
      'Content-Length': end - start + 1,
      ...(partial ? { 'Content-Range': `bytes ${start}-${end}/${file.size}` } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(file.absolute, { start, end, highWaterMark: 64 * 1024 });
    let position = start;
    stream.on('data', (chunk) => {
      let bytes = chunk as Buffer;
      position += bytes.length;
      if (flip && flip.file === file.path && flip.offset < position && flip.offset >= position - bytes.length) {
        bytes = Buffer.from(bytes); // the stream's buffer may be shared
        bytes[flip.offset - (position - bytes.length)] ^= 0xff;
        flip = null;
        flipSent = true;
      }
      if (fileCut && fileCut.file === file.path && position > fileCut.offset && position - bytes.length <= fileCut.offset) {
        cutBudget = fileCut.offset - (position - bytes.length);
        fileCut = null;
      }
      if (cutBudget !== null && bytes.length >= cutBudget) {
        // The network goes away mid-body: send what fits, then drop the connection.
        const part = bytes.subarray(0, cutBudget);
        cutBudget = null;
        networkDown = cutStaysDown;
        stream.destroy();
        entry.bytesSent += part.length;
        if (part.length === 0) res.socket?.destroy();
        else res.write(part, () => res.socket?.destroy());
        return;
      }
      if (cutBudget !== null) cutBudget -= bytes.length;
      entry.bytesSent += bytes.length;
      if (!res.write(bytes)) {
        stream.pause();
        res.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => res.end());
    res.on('close', () => stream.destroy());
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = decodeURIComponent(url.pathname);
    const entry: HubRequest = { method: req.method ?? 'GET', path: url.pathname + url.search, status: 0, bytesSent: 0 };
    log.push(entry);
    if (networkDown) {
      req.socket.destroy();
      return;
    }
    if (req.method === 'OPTIONS') {
      entry.status = 204;
      res
        .writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': 'GET, HEAD, POST', 'Access-Control-Allow-Headers': 'Range, Authorization, Content-Type' })
        .end();
      return;
    }
    if (failures.count > 0) {
      failures.count--;
      return error(res, entry, failures.status, 'Injected', `Injected failure ${failures.status}.`);
    }
    const authorized = tokens.has((req.headers.authorization ?? '').replace(/^Bearer /, ''));

    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (cdn) {
      const target = byLfsSha.get(cdn[1]);
      if (!target) return error(res, entry, 404, 'EntryNotFound', 'No such object.');
      entry.repo = target.repo;
      return serveFile(req, res, entry, target.file, repos.get(target.repo)!.sha);
    }

    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repoId = api?.[1] ?? resolve?.[1];
    const repo = repoId ? repos.get(repoId) : undefined;
    if (!repoId || (!api && !resolve)) return error(res, entry, 404, 'NotFound', 'Unknown endpoint.');
    entry.repo = repoId;
    if (!repo) return error(res, entry, 404, 'RepoNotFound', 'Repository not found');
    const revision = (api ?? resolve)![2];
    if (revision !== 'main' && revision !== repo.sha) return error(res, entry, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);

    if (api) {
      const blobs = url.searchParams.get('blobs') === 'true';
      const siblings = repo.files.map((f) =>
        blobs
          ? { rfilename: f.path, size: f.size, blobId: f.blobId, ...(f.lfsSha256 ? { lfs: { sha256: f.lfsSha256, size: f.size, pointerSize: 134 } } : {}) }
          : { rfilename: f.path },
      );
      entry.status = 200;
      res.writeHead(200, { ...CORS, 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: repoId, modelId: repoId, sha: repo.sha, private: false, gated: repo.gated ?? false, siblings }));
      return;
    }
    if (repo.gated && !authorized) {
      return error(
        res,
        entry,
        401,
        'GatedRepo',
        `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.`,
      );
    }
    const file = repo.files.find((f) => f.path === resolve![3]);
    if (!file) return error(res, entry, 404, 'EntryNotFound', `${resolve![3]} does not exist on "${revision}"`);
    if (options.redirectLfs && file.lfsSha256) {
      entry.status = 302;
      entry.file = file.path;
      res.writeHead(302, { ...CORS, Location: `/cdn/${file.lfsSha256}`, 'X-Repo-Commit': repo.sha }).end();
      return;
    }
    serveFile(req, res, entry, file, repo.sha);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    shaOf: (id) => {
      const repo = repos.get(id);
      if (!repo) throw new Error(`mock hub: no repo ${id}`);
      return repo.sha;
    },
    cutAfter: (bytes, staysDown = true) => {
      cutBudget = bytes;
      cutStaysDown = staysDown;
    },
    cutFileAt: (file, offset, staysDown = true) => {
      fileCut = { file, offset };
      cutStaysDown = staysDown;
    },
    setNetworkDown: (down) => {
      networkDown = down;
    },
    failNext: (count, status) => {
      failures = { count, status };
    },
    setIgnoreRange: (ignore) => {
      ignoreRange = ignore;
    },
    flipByte: (file, offset) => {
      flip = { file, offset };
      flipSent = false;
    },
    get flipSent() {
      return flipSent;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
