/**
 * The benchmark's results file (bench/results/<date>-<adapter>.json: one entry per model and
 * precision run on that day and adapter) and its Markdown table.
 */
import type { Summary } from '../../src/bench/stats.ts';
import type { DeviceRun, ModelRun } from './bench-types.ts';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  browser: string;
  /** The WebGPU adapter as the page saw it. */
  adapter: string;
  commit: string;
  note: string;
}

export interface ResultsFile {
  schema: 1;
  date: string;
  adapter: string;
  machine: Machine;
  /** Keyed by `<model>-<dtype>`. */
  runs: Record<string, ModelRun>;
}

const MiB = 2 ** 20;

/** "median (min–max)" with `digits` decimals, after `scale`; "—" when missing. */
export function fmt(s: Summary | null | undefined, scale = 1, digits = 2): string {
  if (!s) return '—';
  const f = (x: number) => (x * scale).toFixed(digits);
  return s.n === 1 ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

const ratio = (x: number | null | undefined, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(digits)}×`);
const digitsFor = (s: Summary | null | undefined) => (!s ? 2 : s.median >= 100 ? 0 : s.median >= 10 ? 1 : 2);
const speed = (s: Summary | null | undefined) => fmt(s, 1, digitsFor(s));
const seconds = (s: Summary | null | undefined) => fmt(s, 1 / 1000, 2);

function byDevice(run: ModelRun): Record<string, DeviceRun | undefined> {
  return { webgpu: run.devices.find((d) => d.device === 'webgpu'), wasm: run.devices.find((d) => d.device === 'wasm') };
}

/** The Markdown section of one model run. */
export function renderRun(run: ModelRun): string {
  const d = byDevice(run);
  const peer = run.peer;
  const cmp = run.comparison ?? {};
  const vs = (f: (c: NonNullable<ModelRun['comparison']>[string]) => number | null | undefined) =>
    ['webgpu', 'wasm']
      .filter((k) => cmp[k])
      .map((k) => `${k === 'webgpu' ? 'WebGPU' : 'WASM'} ${ratio(f(cmp[k]))}`)
      .join(', ') || '—';
  const rows: string[][] = [];
  const row = (stage: string, unit: string, webgpu: string, wasm: string, wllama = '', ours = '') => rows.push([stage, unit, webgpu, wasm, wllama, ours]);

  if (run.size) {
    const { modelBytes, ggufBytes, ggufType, oursOverGguf } = run.size;
    row(
      `model files, ours ÷ the GGUF ${(ggufType ?? 'q4_0').toUpperCase()} of the same checkpoint`,
      'MiB',
      `${(modelBytes / MiB).toFixed(1)} ÷ ${(ggufBytes / MiB).toFixed(1)} = ${ratio(oursOverGguf)}`,
      '',
      '',
      '',
    );
  }
  if (run.download) {
    const dl = run.download;
    row('cold download → Dexie (store worker)', 'MiB/s', speedOf(dl.coldBytesPerSecond), '', '', '');
    row(
      "  same files, plain fetch (the server's bound)",
      'MiB/s',
      `${speedOf(dl.serverBytesPerSecond)}; store ÷ plain ${ratio(dl.coldOverServer)}`,
      '',
      '',
      '',
    );
  }
  if (run.conversion) {
    const c = run.conversion;
    row(
      `in-browser conversion of the checkpoint (${(c.sourceBytes / 1e9).toFixed(2)} GB) → ${c.dtype} in Dexie, from the mock Hub`,
      'MiB/s',
      `${speedOf(c.bytesPerSecond)}; ÷ plain fetch ${ratio(c.overPlainFetch)}`,
      '',
      '',
      '',
    );
    row("  same safetensors, plain fetch (the server's bound)", 'MiB/s', speedOf(c.plainFetchBytesPerSecond), '', '', '');
    row(
      `  peak memory while converting (${c.memoryMethod ?? 'n/a'}; page + workers), before it began`,
      'MiB',
      c.peakBytes === null ? '—' : `${(c.peakBytes / MiB).toFixed(0)}, before ${c.baselineBytes === null ? '—' : (c.baselineBytes / MiB).toFixed(0)}`,
      '',
      '',
      '',
    );
  }
  if (d.webgpu?.load || d.wasm?.load || peer?.load) {
    const load = (x?: DeviceRun) => x?.load;
    row(
      'warm load → ready, from Dexie',
      's',
      seconds(load(d.webgpu)?.store.summary),
      seconds(load(d.wasm)?.store.summary),
      peer?.load ? `${seconds(peer.load.summary)} (from OPFS)` : '',
      `time ${vs((c) => c.loadTimeOursOverPeer)}`,
    );
    row('warm load → ready, Cache API (transformers.js default)', 's', seconds(load(d.webgpu)?.cacheApi.summary), seconds(load(d.wasm)?.cacheApi.summary));
    row('  Dexie ÷ Cache API (time)', '×', ratio(load(d.webgpu)?.storeOverCacheApi), ratio(load(d.wasm)?.storeOverCacheApi));
    const mem = (x?: DeviceRun) => (x?.load ? `${fmt(x.load.store.peakMemory, 1 / MiB, 0)} / ${fmt(x.load.cacheApi.peakMemory, 1 / MiB, 0)}` : '');
    row(
      `peak memory while loading, Dexie / Cache API (${d.webgpu?.load?.store.memoryMethod ?? d.wasm?.load?.store.memoryMethod ?? 'n/a'}; page + workers, GPU buffers excluded)`,
      'MiB',
      mem(d.webgpu),
      mem(d.wasm),
      peer?.load ? fmt(peer.load.peakMemory, 1 / MiB, 0) : '',
    );
    row('  peak while loading from Dexie ÷ stored model bytes', '×', ratio(load(d.webgpu)?.peakOverModelBytes), ratio(load(d.wasm)?.peakOverModelBytes));
    row('  memory after Unload ÷ before the load', '×', fmt(load(d.webgpu)?.afterUnloadOverBaseline), fmt(load(d.wasm)?.afterUnloadOverBaseline));
    row(
      '  cold load through the Cache API (its download + load)',
      's',
      d.webgpu?.load ? (d.webgpu.load.cacheApiColdMs / 1000).toFixed(2) : '',
      d.wasm?.load ? (d.wasm.load.cacheApiColdMs / 1000).toFixed(2) : '',
      peer?.coldLoadMs ? `${(peer.coldLoadMs / 1000).toFixed(2)} (download into OPFS + load)` : '',
    );
  }
  const prefillSizes = [...new Set([...Object.keys(d.webgpu?.prefill ?? {}), ...Object.keys(d.wasm?.prefill ?? {})])].sort((a, b) => Number(a) - Number(b));
  for (const n of prefillSizes) {
    row(
      `time to first token, ${n}-token prompt`,
      's',
      seconds(d.webgpu?.prefill?.[n]?.ttftMs),
      seconds(d.wasm?.prefill?.[n]?.ttftMs),
      seconds(peer?.prefill?.[n]?.ttftMs),
    );
    row(
      `  prefill, ${n} tokens`,
      'tok/s',
      speed(d.webgpu?.prefill?.[n]?.tokensPerSecond),
      speed(d.wasm?.prefill?.[n]?.tokensPerSecond),
      speed(peer?.prefill?.[n]?.tokensPerSecond),
      `speed ${vs((c) => c.prefillSpeed[n])}`,
    );
  }
  const decodeSizes = [...new Set([...Object.keys(d.webgpu?.decode ?? {}), ...Object.keys(d.wasm?.decode ?? {})])].sort((a, b) => Number(a) - Number(b));
  for (const n of decodeSizes) {
    const counts = (x?: { decodeTokens: number[] }) =>
      x && Math.min(...x.decodeTokens) < Number(n) - 1 ? ` [${Math.min(...x.decodeTokens)}+ tokens: stopped at end of turn]` : '';
    row(
      `decode, ${n} new tokens`,
      'tok/s',
      speed(d.webgpu?.decode?.[n]?.tokensPerSecond) + counts(d.webgpu?.decode?.[n]),
      speed(d.wasm?.decode?.[n]?.tokensPerSecond) + counts(d.wasm?.decode?.[n]),
      speed(peer?.decode?.[n]?.tokensPerSecond),
      `speed ${vs((c) => c.decodeSpeed[n])}`,
    );
  }
  if (d.webgpu?.decodeLong || d.wasm?.decodeLong) {
    const long = (x?: DeviceRun) => (x?.decodeLong ? `${speed(x.decodeLong.tokensPerSecond)} at ~${x.decodeLong.contextTokens} tokens` : '');
    row(
      `decode, ${Math.min(...(d.wasm ?? d.webgpu)!.decodeLong!.decodeTokens)}+ new tokens after the turn stage's history`,
      'tok/s',
      long(d.webgpu),
      long(d.wasm),
      '',
      `long ÷ short context ${vs((c) => c.decodeLongOverShort)}`,
    );
  }
  const calls = (x?: DeviceRun) => {
    const c = x?.perStep ?? x?.decodeStepCalls;
    return c
      ? `${c.dispatches.toFixed(1)} dispatches, ${c.submits.toFixed(1)} submits, ${c.bufferCreations.toFixed(2)} buffer creations, ${c.pipelineCompiles.toFixed(2)} pipeline compiles, ${c.readbacks.toFixed(2)} readbacks (${c.steps} steps)` +
          (x?.perStep?.dispatchesPerLayer !== undefined && x.perStep.depthProbe
            ? `; ${x.perStep.dispatchesPerLayer.toFixed(1)} dispatches per layer (against ${x.perStep.depthProbe.model}, ${x.perStep.depthProbe.layers} layers: ${x.perStep.depthProbe.dispatches.toFixed(1)})`
            : '')
      : '';
  };
  if (d.webgpu?.perStep ?? d.webgpu?.decodeStepCalls) row('WebGPU calls per decode step after the first token', '/step', calls(d.webgpu), '');
  const head = (x?: DeviceRun) => {
    const h = x?.lmHead;
    if (!h) return '';
    const share =
      h.shareOfStep !== null && h.stepMs !== null
        ? `; ${(100 * h.shareOfStep).toFixed(1)} % of a ${h.stepMs.toFixed(h.stepMs >= 100 ? 0 : 1)} ms step (decode ${h.decodeTokens})`
        : '';
    return `${fmt(h.ms, 1, digitsFor(h.ms))} ms, ${(h.weightBytes / MiB).toFixed(1)} MiB${share}`;
  };
  if (d.webgpu?.lmHead || d.wasm?.lmHead) {
    const h = (d.webgpu?.lmHead ?? d.wasm?.lmHead)!;
    row(
      `lm_head alone (${h.vocabSize} × ${h.hiddenSize}, ${h.dtype}; one node on the same provider) → its share of a decode step`,
      'ms; %',
      head(d.webgpu),
      head(d.wasm),
    );
  }
  const turn = (x?: DeviceRun) => (x?.turn ? `${seconds(x.turn.withReuseMs)} / ${seconds(x.turn.withoutReuseMs)} → ${ratio(x.turn.withOverWithout, 3)}` : '');
  if (d.webgpu?.turn || d.wasm?.turn) {
    const history = (d.webgpu?.turn ?? d.wasm?.turn)!.reusedTokens;
    row(
      `next turn's first token after ~${Math.min(...history)} tokens of history: with KV reuse / without → ratio`,
      's',
      turn(d.webgpu),
      turn(d.wasm),
      peer?.turn ? `${seconds(peer.turn.withReuseMs)} / ${seconds(peer.turn.withoutReuseMs)} → ${ratio(peer.turn.withOverWithout, 3)}` : '',
    );
  }
  if (run.bandwidth) row('roofline: adapter read bandwidth (WGSL probe)', 'GB/s', fmt(run.bandwidth.gbPerSecond, 1, 2), '');
  const decodeRoofs = [...new Set(Object.keys(run.roofline ?? {}).map((k) => k.split(' ')[1]))].sort((a, b) => Number(a) - Number(b));
  for (const n of decodeRoofs) {
    const cell = (device: string) => {
      const r = run.roofline?.[`${device} ${n}`];
      if (!r) return '';
      return `${(r.weightBytes / MiB).toFixed(1)} + ${(r.kvBytes / MiB).toFixed(2)} → ${r.boundTokensPerSecond.toFixed(r.boundTokensPerSecond >= 10 ? 0 : 2)} tok/s; ${(r.fractionOfBound * 100).toFixed(r.fractionOfBound < 0.01 ? 3 : 1)} %`;
    };
    row(
      `  decode ${n}: bytes per step (weights + KV at the mean context) → bound at the probe's bandwidth; measured ÷ bound`,
      'MiB; tok/s',
      cell('webgpu'),
      cell('wasm'),
    );
  }
  const kv = (x?: DeviceRun) => (x?.kvLocation?.length ? x.kvLocation.join(', ') : '');
  if (d.webgpu?.kvLocation?.length || d.wasm?.kvLocation?.length) row('KV cache between turns lives in', '', kv(d.webgpu), kv(d.wasm));

  const header = ['stage', 'unit', 'ours, WebGPU', 'ours, WASM', peer ? 'wllama (CPU)' : 'peer', 'ours ÷ wllama'];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const lines = [
    `### ${run.model} (${run.dtype}) — ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC${run.commit ? `, commit ${run.commit}` : ''}`,
    '',
    `Medians with (min–max) over ${run.options.reps} runs per step (loads: ${run.options.loadReps}, downloads: ${run.options.downloadReps}), same browser process. ` +
      `Load average during the run: ${run.load.min.toFixed(1)}–${run.load.max.toFixed(1)} (mean ${run.load.mean.toFixed(1)}) on ${run.load.cores} cores. Model files: ${(run.model_files.bytes / MiB).toFixed(1)} MiB` +
      (peer
        ? `; GGUF ${(peer.ggufType ?? 'q4_0').toUpperCase()} ${(peer.ggufBytes / MiB).toFixed(1)} MiB, wllama ${peer.threads} thread(s), n_ctx ${peer.contextTokens}`
        : '') +
      '.',
    '',
    table,
  ];
  const planned = run.devices.filter((x) => x.plan);
  for (const x of planned) {
    lines.push(
      '',
      `**${x.device === 'webgpu' ? 'WebGPU' : 'WASM'} ran a smaller plan** (its adapter is a CPU implementation): ${x.plan!.reps} run(s) per step, prefill at ${x.plan!.prefill.join(', ')} tokens, decode over ${x.plan!.decode.join(', ')} new tokens, turn-N after ${x.plan!.history} tokens of history.`,
    );
  }
  if (run.options.reductions.length) lines.push('', '**Reduced from the standard plan for this model:**', ...run.options.reductions.map((r) => `- ${r}`));
  if (run.caveats.length) lines.push('', '**Caveats:**', ...run.caveats.map((c) => `- ${c}`));
  const errors = [
    ...Object.entries(run.errors),
    ...run.devices.flatMap((x) => Object.entries(x.errors).map(([k, v]) => [`${x.device} ${k}`, v])),
    ...Object.entries(peer?.errors ?? {}).map(([k, v]) => [`wllama ${k}`, v]),
  ];
  if (errors.length) lines.push('', '**Failed steps:**', ...errors.map(([k, v]) => `- ${k}: ${v}`));
  if (peer?.utf8Failures.length) lines.push('', `wllama requests retried after its invalid-UTF-8 serialization bug: ${peer.utf8Failures.length}.`);
  return lines.join('\n');
}

function speedOf(s: Summary | null | undefined): string {
  return fmt(s, 1 / MiB, 1);
}

export function renderFile(file: ResultsFile): string {
  const m = file.machine;
  return [
    `## Benchmark ${file.date} — ${file.adapter}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; ${m.browser}; Node ${m.node}; commit ${m.commit}. ${m.note}`,
    '',
    ...Object.values(file.runs).flatMap((run) => [renderRun(run), '']),
  ].join('\n');
}
