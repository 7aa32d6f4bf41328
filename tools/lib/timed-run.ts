/**
 * One timed run of a decoder graph for the CPU micro-benches (bench-attention, bench-cpu-dtypes):
 * `ids` fed after the cache `past` at `position`, the run's CPU and wall milliseconds, and the
 * cache it returns. `ort` is passed in: bench-cpu-dtypes times onnxruntime-node and -web alike.
 */
import type * as ortNode from 'onnxruntime-node';

type Ort = typeof ortNode;
export type KvFeeds = Record<string, ortNode.Tensor>;

export async function timedDecoderRun(
  ort: Ort,
  session: ortNode.InferenceSession,
  numLayers: number,
  ids: number[],
  position: number,
  past: KvFeeds,
): Promise<{ cpuMs: number; wallMs: number; past: KvFeeds }> {
  const i64 = (v: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);
  const total = position + ids.length;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const out = await session.run({
    input_ids: i64(ids, [1, ids.length]),
    attention_mask: i64(new Array(total).fill(1), [1, total]),
    // Graphs whose attention applies RoPE itself take no position_ids.
    ...(session.inputNames.includes('position_ids')
      ? {
          position_ids: i64(
            ids.map((_, i) => position + i),
            [1, ids.length],
          ),
        }
      : {}),
    num_logits_to_keep: i64([1], []),
    ...past,
  });
  const cpuUsed = process.cpuUsage(cpuStarted);
  const wallMs = performance.now() - started;
  const next: KvFeeds = {};
  for (let l = 0; l < numLayers; l++) for (const kind of ['key', 'value']) next[`past_key_values.${l}.${kind}`] = out[`present.${l}.${kind}`];
  return { cpuMs: (cpuUsed.user + cpuUsed.system) / 1000, wallMs, past: next };
}
