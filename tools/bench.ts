/**
 * `npm run bench`: Hanmadi's load, prefill and decode speed, measured in headless Chromium with the
 * app's own workers and store, against the hardware's limit (a WGSL bandwidth probe) and a peer
 * (wllama, llama.cpp in WebAssembly) on the identical synthetic weights. Writes
 * bench/results/<date>-<adapter>.json (+ .md) and prints the Markdown table.
 *
 *   npm run bench                                   tiny-llama, q4, every stage, the standard plan
 *   npm run bench -- --model kanana-2.1b-shape      the Kanana-Nano shape (random weights; made on
 *                                                   demand, ~4 GB on disk, removed after unless --keep)
 *   npm run bench -- --model llama-3.2-3b-shape     the Llama 3.2 3B shape (Bllossom's; 6.4 GB checkpoint
 *                                                   + ~4.5 GB of q4/q4f16 made on demand, removed after)
 * Options (lists are comma-separated):
 *   --dtypes q4            precisions to run, one run each (q4 | q4f16 | fp16 | fp32; SwiftShader lacks shader-f16)
 *   --stages …             download,conversion,load,prefill,decode,turn,roofline,peer (default: all)
 *   --devices webgpu,wasm  our engine's devices (WASM is the like-for-like CPU comparison with wllama)
 *   --reps N --load-reps N --download-reps N
 *   --prefill 128,512,2048 --decode 64,256 --decode-prompt 32 --history 2048 --turn-message 16
 *   --gpu-reps N --gpu-prefill 128 --gpu-decode 6 --gpu-history 256
 *                          the smaller plan our WebGPU device runs when its adapter is a CPU
 *                          implementation (SwiftShader); never applied on a real GPU
 *   --full-gpu             run the whole plan on WebGPU even on SwiftShader (hours for the tiny model)
 *   --peer-threads N       wllama's threads (default: half the cores, its own default)
 *   --threads N            our engine's CPU threads (default: the peer's, like for like)
 *   --no-build             use dist-bench/ as it is (otherwise rebuilt when a source is newer)
 *   --keep                 keep model files this run generated
 * Models other than tiny-llama get a reduced plan (tools/lib/bench-profiles.ts); whatever differs from the
 * standard plan is listed in the results as a reduction.
 * The defaults finish in ~15 minutes for tiny-llama on 2 busy cores with SwiftShader: WASM and
 * wllama run the standard plan, WebGPU (~4-15 s per token there) the smaller CPU-adapter plan.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { MODEL_DTYPES, type ModelDtype } from '../src/model/catalog.ts';
import { graphFiles } from '../src/model/model-files.ts';
import { convertCheckpointToGguf, type GgufWeightType } from '../src/converter/gguf.ts';
import { runModelBench } from './lib/bench-run.ts';
import { isCpuAdapter } from './lib/bench-compare.ts';
import { STAGES, STANDARD_PLAN, type BenchDevice, type BenchOptions, type Stage } from './lib/bench-types.ts';
import { renderFile, renderRun, type ResultsFile } from './lib/bench-report.ts';
import { benchPaths } from './lib/bench-server.ts';
import { directoryReader, directoryWriter } from '../src/converter/node-io.ts';
import { profileOf, type Profile } from './lib/bench-profiles.ts';
import { ALL_FIXTURES } from './fixtures/registry.ts';
import { isCurrentFixture } from './fixtures/stamp.ts';

const root = join(import.meta.dirname, '..');
const paths = benchPaths(root);
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'tiny-llama' },
    dtypes: { type: 'string', default: 'q4' },
    stages: { type: 'string', default: STAGES.join(',') },
    devices: { type: 'string' },
    reps: { type: 'string' },
    'load-reps': { type: 'string' },
    'download-reps': { type: 'string' },
    prefill: { type: 'string' },
    decode: { type: 'string' },
    'decode-prompt': { type: 'string' },
    history: { type: 'string' },
    'turn-message': { type: 'string' },
    threads: { type: 'string' },
    'peer-threads': { type: 'string' },
    'gpu-reps': { type: 'string' },
    'gpu-prefill': { type: 'string' },
    'gpu-decode': { type: 'string' },
    'gpu-history': { type: 'string' },
    'full-gpu': { type: 'boolean' },
    'peer-context': { type: 'string' },
    'memory-sample-ms': { type: 'string', default: '500' },
    'no-build': { type: 'boolean' },
    keep: { type: 'boolean' },
    out: { type: 'string', default: join(root, 'bench', 'results') },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  console.log(
    readFileSync(import.meta.filename, 'utf8')
      .split('*/')[0]
      .replace(/^\/\*\*?|^ \* ?/gm, ''),
  );
  process.exit(0);
}

const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const numbers = (s: string) =>
  list(s).map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0) throw new Error(`Not a count: ${x}`);
    return n;
  });
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const model = values.model!;
const profile: Profile = profileOf(model);
const dtypes = list(values.dtypes!) as ModelDtype[];
for (const d of dtypes) if (!MODEL_DTYPES.includes(d)) throw new Error(`Unknown dtype ${d} (${MODEL_DTYPES.join(', ')})`);
const stages = list(values.stages!) as Stage[];
for (const s of stages) if (!STAGES.includes(s)) throw new Error(`Unknown stage ${s} (${STAGES.join(', ')})`);
const devices = (values.devices ? list(values.devices) : (profile.plan.devices ?? ['webgpu', 'wasm'])) as BenchDevice[];

function planFor(dtype: ModelDtype): BenchOptions {
  const p = profile.plan;
  const pick = <T>(flag: string | undefined, parse: (s: string) => T, fallback: T): T => (flag === undefined ? fallback : parse(flag));
  const one = (s: string) => numbers(s)[0];
  const peerThreads = pick(values['peer-threads'], one, Math.max(1, Math.floor(cpus().length / 2)));
  const options: BenchOptions = {
    model,
    dtype,
    stages,
    devices,
    reps: pick(values.reps, one, p.reps ?? STANDARD_PLAN.reps),
    loadReps: pick(values['load-reps'], one, p.loadReps ?? STANDARD_PLAN.reps),
    downloadReps: pick(values['download-reps'], one, p.downloadReps ?? STANDARD_PLAN.reps),
    prefill: pick(values.prefill, numbers, p.prefill ?? [...STANDARD_PLAN.prefill]),
    decode: pick(values.decode, numbers, p.decode ?? [...STANDARD_PLAN.decode]),
    decodePrompt: pick(values['decode-prompt'], one, p.decodePrompt ?? 32),
    history: pick(values.history, one, p.history ?? STANDARD_PLAN.history),
    turnMessage: pick(values['turn-message'], one, p.turnMessage ?? 16),
    peerThreads,
    peerContext: pick(values['peer-context'], one, 0),
    threads: pick(values.threads, one, peerThreads),
    memorySampleMs: Number(values['memory-sample-ms']),
    cpuAdapterPlan: values['full-gpu']
      ? null
      : {
          reps: pick(values['gpu-reps'], one, profile.cpuAdapterPlan.reps),
          prefill: pick(values['gpu-prefill'], numbers, profile.cpuAdapterPlan.prefill),
          decode: pick(values['gpu-decode'], numbers, profile.cpuAdapterPlan.decode),
          history: pick(values['gpu-history'], one, profile.cpuAdapterPlan.history),
        },
    reductions: [],
    ...(profile.depthProbe && devices.includes('webgpu') ? { depthProbe: profile.depthProbe } : {}),
  };
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(options.prefill, STANDARD_PLAN.prefill))
    options.reductions.push(`prefill / time to first token at ${options.prefill.join(', ')} prompt tokens instead of ${STANDARD_PLAN.prefill.join(', ')}`);
  if (!same(options.decode, STANDARD_PLAN.decode))
    options.reductions.push(`decode over ${options.decode.join(', ')} new tokens instead of ${STANDARD_PLAN.decode.join(', ')}`);
  if (options.history !== STANDARD_PLAN.history)
    options.reductions.push(`turn-N with ${options.history} tokens of history instead of ~${STANDARD_PLAN.history}`);
  if (options.reps < STANDARD_PLAN.reps)
    options.reductions.push(`${options.reps} run(s) per generation step instead of ${STANDARD_PLAN.reps}, so min = median = max there`);
  if (options.loadReps < STANDARD_PLAN.reps) options.reductions.push(`${options.loadReps} warm load(s) per source instead of ${STANDARD_PLAN.reps}`);
  if (options.downloadReps < STANDARD_PLAN.reps) options.reductions.push(`${options.downloadReps} cold download(s) instead of ${STANDARD_PLAN.reps}`);
  const skipped = STAGES.filter((s) => !stages.includes(s));
  if (skipped.length) options.reductions.push(`stages not run: ${skipped.join(', ')}`);
  if (!devices.includes('webgpu')) options.reductions.push(`our engine on ${devices.join(', ')} only, not WebGPU`);
  if (options.reductions.length && profile.why) options.reductions.push(`why: ${profile.why}`);
  return options;
}

/** Runs a command, failing loudly. */
function run(command: string, args: string[]): void {
  log(`${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: root, env: process.env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status})`);
}

const generated: string[] = [];

/**
 * A converted model with the precision's files, made with the fixtures tool when missing or made
 * by an older converter (`optIn`: that fixture alone).
 */
function ensureModel(name: string, optIn: boolean, dtype: ModelDtype): void {
  const dir = join(paths.models, name);
  const configPath = join(dir, 'config.json');
  const has = () =>
    existsSync(configPath) &&
    graphFiles(JSON.parse(readFileSync(configPath, 'utf8')), dtype).every((f) => existsSync(join(dir, f))) &&
    (!ALL_FIXTURES[name] || isCurrentFixture(dir, name, optIn ? dtypes : undefined));
  if (has()) return;
  if (optIn) {
    generated.push(dir, join(root, 'fixtures', 'checkpoints', name));
    run('npx', ['tsx', 'tools/fixtures.ts', '--only', name, '--dtypes', dtypes.join(',')]);
  } else {
    run('npx', ['tsx', 'tools/fixtures.ts']);
  }
  if (!has()) throw new Error(`${name} has no ${dtype} files after running the fixtures tool.`);
}

/**
 * The peer's weights at our precision's width: GGUF Q8_0 beside our q8 (both 8-bit blocks with
 * one scale; loads then move the same bytes), Q4_0 beside every other dtype (its 4-bit format).
 */
function peerGgufType(dtype: ModelDtype): GgufWeightType {
  return dtype === 'q8' ? 'q8_0' : 'q4_0';
}

/** The GGUF of the model's checkpoint for the peer, in `type` (written by our converter when missing). */
async function ensureGguf(type: GgufWeightType): Promise<string> {
  const name = `${model}-${type}.gguf`;
  const file = join(paths.gguf, name);
  const checkpoint = join(root, 'fixtures', 'checkpoints', model);
  if (existsSync(file) && (!existsSync(checkpoint) || statSync(file).mtimeMs > statSync(join(checkpoint, 'config.json')).mtimeMs)) return name;
  if (!existsSync(checkpoint)) throw new Error(`No checkpoint at ${checkpoint} to write the GGUF from (run the fixtures tool).`);
  mkdirSync(paths.gguf, { recursive: true });
  if (profile.optIn) generated.push(file);
  log(`writing ${name} with our GGUF writer`);
  const out = await directoryWriter(paths.gguf).openOutput(name);
  try {
    await convertCheckpointToGguf(directoryReader(checkpoint), out, { type, name: model });
  } catch (error) {
    rmSync(file, { force: true });
    throw error;
  }
  return name;
}

/** Newest modification time under `dir` (files only). */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function ensureBuild(): void {
  const built = join(paths.page, 'bench.html');
  if (values['no-build'] && existsSync(built)) return;
  const sources = Math.max(newest(join(root, 'src')), ...['bench.html', 'vite.config.ts', 'package-lock.json'].map((f) => statSync(join(root, f)).mtimeMs));
  if (existsSync(built) && statSync(built).mtimeMs > sources) {
    log('dist-bench/ is up to date');
    return;
  }
  run('npx', ['vite', 'build', '--mode', 'bench', '--logLevel', 'warn']);
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/**
 * The run's key in the day's results file: `<model>-<dtype>`, or, where that day already holds a
 * run of the model with other stages or threads (the conversion alone, or a two-thread run, beside
 * a full one), those too: a different run goes beside the earlier one, never over it.
 */
function runKey(previous: ResultsFile | null, plain: string, options: BenchOptions): string {
  const earlier = previous?.runs[plain]?.options;
  if (!earlier) return plain;
  const differs: string[] = [];
  if (earlier.stages.join() !== options.stages.join()) differs.push(options.stages.join(', '));
  if (earlier.threads !== options.threads || earlier.peerThreads !== options.peerThreads)
    differs.push(`${options.threads} threads, peer ${options.peerThreads}`);
  return differs.length ? `${plain} (${differs.join('; ')})` : plain;
}

async function main(): Promise<void> {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}: apt-get install -y chromium (or set CHROMIUM_PATH).`);
  ensureBuild();
  for (const dtype of dtypes) {
    ensureModel(model, profile.optIn, dtype);
    // The depth probe is counted on WebGPU only.
    if (profile.depthProbe && devices.includes('webgpu')) ensureModel(profile.depthProbe, true, dtype);
  }
  const checkpointDir = join(root, 'fixtures', 'checkpoints', model);
  // The GGUF is the peer's model, and the size every run compares its files with.
  const ggufNames = new Map<ModelDtype, string>();
  if (stages.includes('peer') || existsSync(join(checkpointDir, 'config.json'))) {
    for (const dtype of dtypes) ggufNames.set(dtype, await ensureGguf(peerGgufType(dtype)));
  }
  const checkpoint = stages.includes('conversion') && existsSync(join(checkpointDir, 'config.json')) ? checkpointDir : null;
  if (stages.includes('conversion') && !checkpoint) log(`no checkpoint at ${checkpointDir}: the conversion stage is skipped (the fixtures tool makes it)`);
  // Without the conversion stage the checkpoint was only needed for the GGUF: an opt-in model's 4 GB go as soon as possible.
  if (profile.optIn && !values.keep && !checkpoint && generated.includes(checkpointDir)) rmSync(checkpointDir, { recursive: true, force: true });
  try {
    for (const dtype of dtypes) {
      const options = planFor(dtype);
      log(
        `${model} ${dtype}: stages ${stages.join(', ')} on ${devices.join(', ')}; ${options.reductions.length ? `reduced: ${options.reductions.join('; ')}` : 'standard plan'}`,
      );
      const ggufName = ggufNames.get(dtype) ?? null;
      const gguf = stages.includes('peer') && ggufName ? { file: ggufName, type: peerGgufType(dtype) } : null;
      const result = await runModelBench(options, { paths, chromiumPath, gguf, checkpoint });
      if (ggufName) {
        const ggufBytes = statSync(join(paths.gguf, ggufName)).size;
        result.size = { modelBytes: result.model_files.bytes, ggufBytes, ggufType: peerGgufType(dtype), oursOverGguf: result.model_files.bytes / ggufBytes };
      }
      const adapter = result.page?.adapter;
      const adapterName = adapter
        ? [adapter.vendor, adapter.architecture]
            .filter(Boolean)
            .join('-')
            .toLowerCase()
            .replace(/[^a-z0-9-]+/g, '-') || 'webgpu'
        : 'no-webgpu';
      const date = result.startedAt.slice(0, 10);
      mkdirSync(values.out!, { recursive: true });
      const jsonPath = join(values.out!, `${date}-${adapterName}.json`);
      const previous: ResultsFile | null = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as ResultsFile) : null;
      const dirty = git(['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : '';
      const commit = `${git(['rev-parse', '--short', 'HEAD']) || 'unknown'}${dirty}`;
      const file: ResultsFile = {
        schema: 1,
        date,
        adapter: adapterName,
        machine: {
          cpu: cpus()[0]?.model ?? 'unknown',
          cores: cpus().length,
          memoryGiB: Math.round(totalmem() / 2 ** 30),
          os: `${osType()} ${release()}`,
          node: process.version,
          browser: /(HeadlessChrome|Chrome)\/[\d.]+/.exec(result.page?.userAgent ?? '')?.[0] ?? 'unknown',
          adapter: adapter ? `${adapter.vendor} ${adapter.architecture} ${adapter.description}`.trim() : 'none',
          commit,
          note: isCpuAdapter(adapter)
            ? "No GPU: WebGPU is headless Chromium's CPU implementation (SwiftShader) on this machine."
            : `WebGPU adapter: ${adapter ? `${adapter.vendor} ${adapter.architecture}` : 'none'}.`,
        },
        runs: { ...(previous?.runs ?? {}), [runKey(previous, `${model}-${dtype}`, options)]: { ...result, commit } },
      };
      writeFileSync(jsonPath, JSON.stringify(file, null, 2) + '\n');
      writeFileSync(jsonPath.replace(/\.json$/, '.md'), renderFile(file));
      console.log(`\n${renderRun(result)}\n`);
      log(`wrote ${jsonPath} (+ .md)`);
    }
  } finally {
    if (!values.keep) {
      for (const path of generated) {
        if (existsSync(path)) {
          log(`removing ${basename(path)} (generated for this run; --keep keeps it)`);
          rmSync(path, { recursive: true, force: true });
        }
      }
    }
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
