import { describe, expect, it } from 'vitest';
import { resolveLlamaShape, type HfLlamaConfig } from '../model/config.ts';
import { computeRopeParameters } from '../model/yarn.ts';
import { GraphOptionError, planLlamaGraph } from './llama-graph.ts';
import { type AttentionKind } from '../model/graph-format.ts';
import { SMALL_LLAMA } from '../testing/memory-checkpoint.ts';

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
    // transformers.js sees only the I/O, which must not depend on the form.
    expect(gqa.inputs).toEqual(plain.inputs);
    expect(gqa.outputs).toEqual(plain.outputs);
    const node = gqa.nodes.find((n) => n.opType === 'GroupQueryAttention')!;
    expect(node).toMatchObject({ domain: 'com.microsoft', outputs: ['attention_0', 'present.0.key', 'present.0.value'] });
    expect(node.attributes).toEqual({ num_heads: 4, kv_num_heads: 2, scale: { float: 1 / Math.sqrt(32) } });
    // The RoPE initializers that rope-patch.ts rewrites are there in both forms.
    for (const graph of [gqa, plain]) expect(graph.initializers.map((t) => t.name)).toEqual(expect.arrayContaining(['rope.inv_freq', 'rope.attention_scale']));
  });

  it('falls back to the plain form where GroupQueryAttention cannot run, and refuses to force it', () => {
    const oddHead = { ...config, hidden_size: 48, head_dim: 12 }; // GroupQueryAttention needs head_dim % 8 = 0
    expect(count(plan(oddHead), 'GroupQueryAttention')).toBe(0);
    expect(() => plan(oddHead, 'gqa')).toThrow(GraphOptionError);
  });
});
