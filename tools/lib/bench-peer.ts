/** The peer's stages: wllama (llama.cpp in WebAssembly) on the same weights as GGUF, in the same run. */
import { type BrowserContext } from '@playwright/test';
import type { MemoryPeak, PeerCompletion } from '../../src/bench/bench-api.ts';
import { ratioOfMedians, summarize } from '../../src/bench/stats.ts';
import type { ChatMessage } from '../../src/worker/protocol.ts';
import type { BenchOptions, PeerRun } from './bench-types.ts';
import type { GgufWeightType } from '../../src/converter/gguf.ts';
import { log, call, openPage, loadSummary, stage, type Prompts } from './bench-page.ts';

export async function peerStages(
  context: BrowserContext,
  origin: string,
  gguf: { file: string; type: GgufWeightType },
  options: BenchOptions,
  p: Prompts,
): Promise<PeerRun> {
  const longest = Math.max(
    ...options.prefill,
    p.decodePrompt.tokens + Math.max(...options.decode),
    p.historyPrompt ? p.historyPrompt.tokens + (options.turnMessage + 16) * (options.reps + 1) : 0,
  );
  const nCtx = options.peerContext || 256 * Math.ceil((longest + 64) / 256);
  // llama.cpp on the CPU (docs/gguf.md: on SwiftShader its worker gets no adapter anyway); F16 KV cache, its default.
  const params = { n_ctx: nCtx, n_threads: options.peerThreads, n_gpu_layers: 0, n_batch: 2048 };
  const url = `${origin}/gguf/${gguf.file}`;
  const out: PeerRun = {
    engine: 'wllama',
    ggufType: gguf.type,
    ggufBytes: 0,
    threads: 0,
    multithread: false,
    gpu: false,
    contextTokens: nCtx,
    utf8Failures: [],
    errors: {},
  };
  out.ggufBytes = Number((await fetch(url, { method: 'HEAD' })).headers.get('content-length'));
  let page = await openPage(context, origin);
  const loads: { ms: number; memory: MemoryPeak | null }[] = [];
  // Load 0 downloads into wllama's cache (OPFS) and loads: cold. The rest load from OPFS in a fresh page each.
  for (let r = 0; r <= options.loadReps; r++) {
    if (r > 0) page = await openPage(context, origin);
    const l = await call(page, 'peerLoad', { url, params, memorySampleMs: r === 0 ? 0 : options.memorySampleMs });
    Object.assign(out, { threads: l.threads, multithread: l.multithread, gpu: l.gpu, engine: `wllama (llama.cpp ${l.libllama})` });
    if (r === 0) out.coldLoadMs = l.ms;
    else loads.push({ ms: l.ms, memory: l.memory });
    log(
      `wllama load ${r === 0 ? 'cold (download into OPFS + load)' : `${r}/${options.loadReps} from OPFS`}: ${(l.ms / 1000).toFixed(1)} s, ${l.threads} thread(s)`,
    );
    if (r < options.loadReps) await call(page, 'peerExit');
  }
  out.load = loadSummary(loads);
  const complete = async (prompt: string, maxTokens: number, cachePrompt: boolean): Promise<PeerCompletion> => {
    const c = await call(page, 'peerComplete', { prompt, maxTokens, cachePrompt });
    out.utf8Failures.push(...c.failedAttempts);
    return c;
  };

  if (options.stages.includes('prefill')) {
    out.prefill = {};
    for (const prompt of p.prefillPrompts) {
      await stage(out.errors, `prefill ${prompt.tokens}`, async () => {
        const ttft: number[] = [];
        const speed: number[] = [];
        const native: number[] = [];
        const tokens: number[] = [];
        for (let r = 0; r < options.reps; r++) {
          const c = await complete(prompt.text, 1, false);
          if (c.promptTokens !== prompt.tokens) throw new Error(`llama.cpp counted ${c.promptTokens} prompt tokens, ours ${prompt.tokens}`);
          const first = c.firstChunkMs ?? c.wallMs;
          tokens.push(c.promptTokens);
          ttft.push(first);
          speed.push((c.promptTokens * 1000) / first);
          native.push(c.timings.prompt_per_second);
          log(
            `wllama prefill ${c.promptTokens} tokens ${r + 1}/${options.reps}: first token after ${(first / 1000).toFixed(2)} s (llama.cpp: ${c.timings.prompt_per_second.toFixed(1)} tok/s)`,
          );
        }
        out.prefill![String(prompt.tokens)] = {
          promptTokens: tokens,
          ttftMs: summarize(ttft),
          tokensPerSecond: summarize(speed),
          nativePrefillTokensPerSecond: summarize(native),
        };
      });
    }
  }
  if (options.stages.includes('decode')) {
    out.decode = {};
    for (const n of options.decode) {
      await stage(out.errors, `decode ${n}`, async () => {
        const speed: number[] = [];
        const counts: number[] = [];
        for (let r = 0; r < options.reps; r++) {
          const c = await complete(p.decodePrompt.text, n, false);
          // llama.cpp starts its generation clock when the first token is sampled (right after the
          // prefill) yet counts that token in predicted_per_second: n tokens over n - 1 steps. Ours
          // is (generated - 1) / decode time, so the same is computed here from n and the time.
          const steps = c.timings.predicted_n - 1;
          speed.push(steps > 0 ? (steps * 1000) / c.timings.predicted_ms : Number.NaN);
          counts.push(steps);
          log(`wllama decode ${n} ${r + 1}/${options.reps}: ${steps} decode steps at ${speed.at(-1)!.toFixed(2)} tok/s`);
        }
        out.decode![String(n)] = { decodeTokens: counts, tokensPerSecond: summarize(speed) };
      });
    }
  }
  if (options.stages.includes('turn') && p.historyPrompt) {
    await stage(out.errors, 'turn', async () => {
      const history = p.historyPrompt!;
      await complete(history.text, 4, true); // fills the peer's prompt cache
      const withReuse: number[] = [];
      const without: number[] = [];
      const cached: number[] = [];
      let messages: ChatMessage[] = [...history.messages, { role: 'assistant', content: 'ok' }];
      for (let r = 0; r < options.reps; r++) {
        messages = [...messages, { role: 'user', content: p.prompts.contentOf(options.turnMessage, 11 * (r + 1)) }];
        const text = p.prompts.withText(messages).text;
        const a = await complete(text, 1, true);
        const b = await complete(text, 1, false);
        // As for ours (the engine refuses it): a reuse run that reused nothing measures nothing.
        if (a.timings.cache_n === 0 || b.timings.cache_n !== 0)
          throw new Error(`wllama's prompt cache was not used as asked (cached ${a.timings.cache_n} with reuse, ${b.timings.cache_n} without).`);
        withReuse.push(a.firstChunkMs ?? a.wallMs);
        without.push(b.firstChunkMs ?? b.wallMs);
        cached.push(a.timings.cache_n);
        messages = [...messages, { role: 'assistant', content: 'ok' }];
        log(
          `wllama turn ${r + 1}/${options.reps} (${a.promptTokens} tokens, ${a.timings.cache_n} cached): ${(withReuse.at(-1)! / 1000).toFixed(2)} s with reuse, ${(without.at(-1)! / 1000).toFixed(2)} s without`,
        );
      }
      const w = summarize(withReuse);
      const wo = summarize(without);
      out.turn = { cachedTokens: cached, withReuseMs: w, withoutReuseMs: wo, withOverWithout: ratioOfMedians(w, wo) };
    });
  }
  await call(page, 'peerExit');
  return out;
}
