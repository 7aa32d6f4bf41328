/**
 * `npm run bench:matmul`: one linear layer at each of Kanana's shapes (hidden 1792, 24 heads over
 * 8 KV heads of 128, intermediate 8064, vocabulary 128,256), timed in every matmul form a CPU graph
 * could use (tools/lib/matmul-forms.ts: 4- and 8-bit MatMulNBits, DynamicQuantizeLinear +
 * MatMulInteger, DynamicQuantizeMatMul, float32), in onnxruntime-web's WASM build run in Node on
 * one thread (the app's CPU path, minus the browser) and in onnxruntime-node for comparison.
 * M = 1 is a decode step; M = 128 a prefill chunk (not for the head: a prefill keeps one row of
 * logits). Each cell: the median of repeated runs after two warm-ups. Writes
 * `bench/results/<date>-matmul-cpu.json` and `.md` and prints the table.
 *
 *   --runtimes web,node  --forms <list>  --shapes <list>  --m 1,128  --min-ms 1000  --out <path>
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import * as ortNode from 'onnxruntime-node';
import { activations, MATMUL_FORMS, matmulModel, matmulWeights, weightBytes, type MatmulForm } from './lib/matmul-forms.ts';

/** Kanana's linear layers as [K, N]; the fused ones are how the converter's graphs run them. */
const SHAPES: Record<string, { k: number; n: number; prefill: boolean }> = {
  q_proj: { k: 1792, n: 3072, prefill: true },
  'k_proj / v_proj': { k: 1792, n: 1024, prefill: true },
  'qkv (fused)': { k: 1792, n: 5120, prefill: true },
  o_proj: { k: 3072, n: 1792, prefill: true },
  'gate / up': { k: 1792, n: 8064, prefill: true },
  'gate_up (fused)': { k: 1792, n: 16128, prefill: true },
  down_proj: { k: 8064, n: 1792, prefill: true },
  lm_head: { k: 1792, n: 128256, prefill: false },
};

const { values } = parseArgs({
  options: {
    runtimes: { type: 'string', default: 'web,node' },
    forms: { type: 'string', default: MATMUL_FORMS.join(',') },
    shapes: { type: 'string', default: Object.keys(SHAPES).join(',') },
    m: { type: 'string', default: '1,128' },
    'min-ms': { type: 'string', default: '1000' },
    out: { type: 'string' },
  },
});
const list = (s: string) => s.split(',').map((x) => x.trim());
const RUNTIMES = list(values.runtimes) as ('web' | 'node')[];
const FORMS = list(values.forms) as MatmulForm[];
const SHAPE_NAMES = list(values.shapes);
const MS = list(values.m).map(Number);
const MIN_MS = Number(values['min-ms']);
for (const f of FORMS) if (!MATMUL_FORMS.includes(f)) throw new Error(`Unknown form ${f}; one of ${MATMUL_FORMS.join(', ')}.`);
for (const s of SHAPE_NAMES) if (!SHAPES[s]) throw new Error(`Unknown shape ${s}; one of ${Object.keys(SHAPES).join(', ')}.`);

// The package's Node entry: ort.node.min.js with the plain (non-asyncify) WASM build.
const ortWeb = createRequire(import.meta.url)('onnxruntime-web') as typeof ortNode;
ortWeb.env.wasm.numThreads = 1;
const RUNTIME = { web: ortWeb, node: ortNode };

interface Cell {
  runtime: 'web' | 'node';
  shape: string;
  k: number;
  n: number;
  m: number;
  form: MatmulForm;
  /** Median milliseconds per product; null where the runtime refused the form. */
  ms: number | null;
  minMs: number | null;
  maxMs: number | null;
  runs: number;
  /** Weight bytes ÷ the median time: the rate a decode step reads weights at. */
  weightGBps: number | null;
  error?: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(ort: typeof ortNode, session: ortNode.InferenceSession, m: number, k: number): Promise<number[]> {
  const feeds = { A: new ort.Tensor('float32', activations(m, k), [m, k]) };
  for (let i = 0; i < 2; i++) await session.run(feeds);
  const times: number[] = [];
  const started = performance.now();
  while (times.length < 3 || (performance.now() - started < MIN_MS && times.length < 50)) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  return times;
}

const cells: Cell[] = [];
for (const shapeName of SHAPE_NAMES) {
  const { k, n, prefill } = SHAPES[shapeName];
  for (const form of FORMS) {
    const model = matmulModel(matmulWeights(form, k, n));
    for (const runtime of RUNTIMES) {
      const ort = RUNTIME[runtime];
      let session: ortNode.InferenceSession | null = null;
      let error: string | undefined;
      try {
        session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
      } catch (e) {
        error = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
      }
      for (const m of MS.filter((m) => m === 1 || prefill)) {
        let times: number[] = [];
        if (session)
          try {
            times = await time(ort, session, m, k);
          } catch (e) {
            error = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 200);
          }
        const ms = times.length ? median(times) : null;
        const cell: Cell = {
          runtime,
          shape: shapeName,
          k,
          n,
          m,
          form,
          ms,
          minMs: times.length ? Math.min(...times) : null,
          maxMs: times.length ? Math.max(...times) : null,
          runs: times.length,
          weightGBps: ms ? weightBytes(form, k, n) / ms / 1e6 : null,
          ...(error ? { error } : {}),
        };
        cells.push(cell);
        console.log(
          `${runtime} ${shapeName} [${k}×${n}] M=${m} ${form}: ${ms === null ? `failed: ${error}` : `${ms.toFixed(2)} ms (${cell.minMs!.toFixed(2)}–${cell.maxMs!.toFixed(2)}, ${times.length} runs), ${cell.weightGBps!.toFixed(2)} GB/s of weights`}`,
        );
      }
      await session?.release();
    }
  }
}

/** The 8-bit form with the least total time over the decode shapes a layer runs (fused) plus the head, per runtime. */
function fastest8Bit(runtime: 'web' | 'node', m: number): { form: MatmulForm; totalMs: number }[] {
  const layerShapes = ['qkv (fused)', 'o_proj', 'gate_up (fused)', 'down_proj', ...(m === 1 ? ['lm_head'] : [])];
  return FORMS.filter((f) => f.startsWith('q8'))
    .map((form) => {
      const own = layerShapes.map((s) => cells.find((c) => c.runtime === runtime && c.shape === s && c.form === form && c.m === m)?.ms);
      return { form, totalMs: own.every((x) => typeof x === 'number') ? own.reduce((a, b) => a! + b!, 0)! : Infinity };
    })
    .sort((a, b) => a.totalMs - b.totalMs);
}

function table(runtime: 'web' | 'node', m: number): string {
  const rows = SHAPE_NAMES.filter((s) => m === 1 || SHAPES[s].prefill);
  const cell = (s: string, f: MatmulForm) => {
    const c = cells.find((x) => x.runtime === runtime && x.shape === s && x.form === f && x.m === m);
    if (!c) return '';
    return c.ms === null ? 'refused' : `${c.ms.toFixed(c.ms < 10 ? 2 : 1)}`;
  };
  return [
    `| ${runtime === 'web' ? 'onnxruntime-web WASM' : 'onnxruntime-node CPU'}, 1 thread, M = ${m}: ms | K × N | ${FORMS.join(' | ')} |`,
    `| --- | --- | ${FORMS.map(() => '---').join(' | ')} |`,
    ...rows.map((s) => `| ${s} | ${SHAPES[s].k} × ${SHAPES[s].n} | ${FORMS.map((f) => cell(s, f)).join(' | ')} |`),
  ].join('\n');
}

const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
/** Neither onnxruntime package exports its package.json; read it from node_modules (run from the project root). */
const packageVersion = (name: string) => (JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
const startedAt = new Date().toISOString();
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
  onnxruntimeWeb: packageVersion('onnxruntime-web'),
  onnxruntimeNode: packageVersion('onnxruntime-node'),
};
const pick = RUNTIMES.flatMap((r) => MS.map((m) => ({ runtime: r, m, ranking: fastest8Bit(r, m) })));
const markdown = [
  `# Matmul forms at Kanana's shapes — ${startedAt.slice(0, 16).replace('T', ' ')} UTC, commit ${commit}`,
  '',
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load average ${machine.loadAverage.join(' ')}; onnxruntime-web ${machine.onnxruntimeWeb}, onnxruntime-node ${machine.onnxruntimeNode}. Median ms per product.`,
  '',
  ...RUNTIMES.flatMap((r) => MS.flatMap((m) => [table(r, m), ''])),
  ...pick.map(
    ({ runtime, m, ranking }) =>
      `- ${runtime}, M = ${m}: a layer's fused products${m === 1 ? ' + the head' : ''} per form: ${ranking.map((x) => `${x.form} ${Number.isFinite(x.totalMs) ? x.totalMs.toFixed(1) : '—'} ms`).join(', ')}`,
  ),
].join('\n');
console.log('\n' + markdown);

const out = values.out ?? `bench/results/${startedAt.slice(0, 10)}-matmul-cpu.json`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ startedAt, commit, machine, minMs: MIN_MS, cells, fastest8Bit: pick }, null, 2) + '\n');
writeFileSync(out.replace(/\.json$/, '.md'), markdown + '\n');
console.log(`\nWrote ${out} and its .md`);
