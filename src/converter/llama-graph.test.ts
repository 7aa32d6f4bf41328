import { describe, expect, it } from 'vitest';
import { resolveLlamaShape, type HfLlamaConfig } from '../model/config.ts';
import { computeRopeParameters } from '../model/yarn.ts';
import { GraphOptionError, planLlamaGraph } from './llama-graph.ts';
import { type AttentionKind } from '../model/graph-format.ts';
import { SMALL_LLAMA } from '../testing/memory-checkpoint.ts';
import { DataType } from './onnx-proto.ts';

const config: HfLlamaConfig = { ...SMALL_LLAMA, num_hidden_layers: 3 };
const plan = (c: HfLlamaConfig, attention?: AttentionKind) =>
  planLlamaGraph(
    resolveLlamaShape(c),
    computeRopeParameters(c),
    'q4f16',
    (spec) => ({ name: spec.name, dataType: spec.dataType, dims: spec.dims, data: new Uint8Array(0) }),
    { attention },
  );
const count = (graph: ReturnType<typeof plan>, opType: string) => graph.nodes.filter((n) => n.opType === opType).length;

describe('attention forms', () => {
  it('GroupQueryAttention by default, one per layer, with the same graph I/O as the plain form', () => {
    const gqa = plan(config);
    const plain = plan(config, 'plain');
    expect(count(gqa, 'GroupQueryAttention')).toBe(3);
    expect([count(gqa, 'Expand'), count(gqa, 'Softmax')]).toEqual([0, 0]);
    expect([count(plain, 'GroupQueryAttention'), count(plain, 'Expand'), count(plain, 'Softmax')]).toEqual([0, 6, 3]);
    // The same I/O, except that GroupQueryAttention rotates q and k itself (positions from seqlens_k).
    const names = (values: { name: string }[]) => values.map((v) => v.name);
    expect(names(plain.inputs).filter((name) => name !== 'position_ids')).toEqual(names(gqa.inputs));
    expect([names(gqa.inputs), names(plain.inputs)].map((inputs) => inputs.includes('position_ids'))).toEqual([false, true]);
    expect(gqa.outputs).toEqual(plain.outputs);
    const node = gqa.nodes.find((n) => n.opType === 'GroupQueryAttention')!;
    expect(node).toMatchObject({ domain: 'com.microsoft', outputs: ['attention_0', 'present.0.key', 'present.0.value'] });
    expect(node.inputs.slice(7)).toEqual(['cos_cache', 'sin_cache']);
    expect(node.attributes).toEqual({ num_heads: 4, kv_num_heads: 2, scale: { float: 1 / Math.sqrt(32) }, do_rotary: 1, rotary_interleaved: 0 });
    // The RoPE initializers that rope-patch.ts rewrites: the caches GroupQueryAttention reads (in the
    // activation type, one row per position of the window), or inv_freq for our own RoPE ops.
    const initializer = (graph: typeof gqa, name: string) => graph.initializers.find((t) => t.name === name);
    expect(initializer(gqa, 'cos_cache')).toMatchObject({ dataType: DataType.FLOAT16, dims: [config.max_position_embeddings, 16] });
    expect(initializer(gqa, 'rope.inv_freq')).toBeUndefined();
    expect(plain.initializers.map((t) => t.name)).toEqual(expect.arrayContaining(['rope.inv_freq', 'rope.attention_scale']));
  });

  it('keeps its own RoPE ops with GroupQueryAttention where head_dim is not a multiple of 16', () => {
    const narrowHeads = plan({ ...config, num_attention_heads: 8, num_key_value_heads: 2, head_dim: 8 });
    expect(narrowHeads.nodes.find((n) => n.opType === 'GroupQueryAttention')!.attributes).not.toHaveProperty('do_rotary');
    expect(narrowHeads.inputs.map((v) => v.name)).toContain('position_ids');
    expect(narrowHeads.initializers.map((t) => t.name)).toContain('rope.inv_freq');
  });

  it('falls back to the plain form where GroupQueryAttention cannot run, and refuses to force it', () => {
    const oddHead = { ...config, num_attention_heads: 8, head_dim: 12 }; // GroupQueryAttention needs head_dim % 8 = 0
    expect(count(plan(oddHead), 'GroupQueryAttention')).toBe(0);
    expect(() => plan(oddHead, 'gqa')).toThrow(GraphOptionError);
  });

  it('every initializer feeds a node, and every value has one producer', () => {
    for (const graph of [plan(config), plan(config, 'plain'), plan({ ...config, num_attention_heads: 8, num_key_value_heads: 2, head_dim: 8 })]) {
      const read = new Set(graph.nodes.flatMap((n) => n.inputs));
      expect(graph.initializers.map((t) => t.name).filter((name) => !read.has(name))).toEqual([]);
      const produced = [...graph.inputs.map((v) => v.name), ...graph.initializers.map((t) => t.name), ...graph.nodes.flatMap((n) => n.outputs.filter(Boolean))];
      expect(produced.length).toBe(new Set(produced).size);
    }
  });
});
