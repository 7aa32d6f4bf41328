/**
 * The rewritten files are valid ONNX for onnxruntime: a cos/sin-cache graph (onnxruntime-genai
 * layout) patched from 64 to 512 positions loads in onnxruntime-node, and gathering rows past the
 * old table's end returns the YaRN values from the definition. (The inv_freq form is run end to end
 * through transformers.js in tools/long-context.node.test.ts.)
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { float16BitsToFloat32 } from '../lib/float16.ts';
import { patchOnnxRope } from './rope-patch.ts';
import { cacheGraph, cacheTensors, config, directCache, extended } from '../testing/rope-graphs.ts';
import { computeRopeParameters } from './yarn.ts';

describe('a patched cos/sin-cache graph in onnxruntime-node', () => {
  for (const half of [false, true]) {
    it(`serves the YaRN rows, including those past the original table (${half ? 'float16' : 'float32'})`, async () => {
      const original = cacheGraph(...cacheTensors(computeRopeParameters(config), 64, half));
      const session = await ort.InferenceSession.create(patchOnnxRope(original, config, extended).bytes);
      const positions = [0, 1, 63, 64, 300, 511];
      const out = await session.run({ position_ids: new ort.Tensor('int64', BigInt64Array.from(positions.map(BigInt)), [positions.length]) });
      const rope = computeRopeParameters(extended);
      for (const kind of ['cos', 'sin'] as const) {
        expect(out[kind].dims).toEqual([positions.length, 16]);
        const got = Array.from(out[kind].data as Float32Array | Uint16Array, half ? float16BitsToFloat32 : (v) => v);
        const table = directCache(kind, rope, 512);
        positions.forEach((p, row) => {
          // Storage rounding, plus one float32 rounding of the angle p · inv_freq (up to p radians).
          const tolerance = (half ? 1e-3 : 1e-6) + 1.2e-7 * p;
          for (let j = 0; j < 16; j++) expect(Math.abs(got[row * 16 + j] - table[p * 16 + j])).toBeLessThan(tolerance);
        });
      }
    });
  }
});
