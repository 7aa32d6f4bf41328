import { describe, expect, it } from 'vitest';
import { featuresToRequest } from './gpu.ts';

describe('featuresToRequest', () => {
  const all = new Set(['shader-f16', 'subgroups', 'timestamp-query', 'texture-compression-bc']);

  it("asks for the adapter's features ONNX Runtime uses, subgroups only when they are 8 lanes or wider", () => {
    expect(featuresToRequest(all, { subgroupMinSize: 32 })).toEqual(['shader-f16', 'subgroups', 'timestamp-query']);
    expect(featuresToRequest(all, { subgroupMinSize: 8 })).toEqual(['shader-f16', 'subgroups', 'timestamp-query']);
    // SwiftShader reports 4-lane subgroups: onnxruntime-web's FlashAttention prefill is wrong there.
    expect(featuresToRequest(all, { subgroupMinSize: 4 })).toEqual(['shader-f16', 'timestamp-query']);
    // A browser that does not report the size: no subgroups rather than a risk of wrong attention.
    expect(featuresToRequest(all, undefined)).toEqual(['shader-f16', 'timestamp-query']);
    expect(featuresToRequest(new Set(['subgroups']), { subgroupMinSize: 16 })).toEqual(['subgroups']);
    expect(featuresToRequest(new Set(), { subgroupMinSize: 16 })).toEqual([]);
  });
});
