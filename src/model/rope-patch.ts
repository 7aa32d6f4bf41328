/**
 * The context-length patch at load time. transformers.js never reads rope_scaling: RoPE lives in
 * the ONNX graph. So extending the context past the native window means serving both a patched
 * config.json (YaRN rope_scaling, raised max_position_embeddings) and graphs whose RoPE constants
 * were recomputed from that config by yarn.ts. The stored originals are never modified. Pure and
 * browser-safe (no Node APIs): the worker runs it on the bytes it is about to hand to
 * transformers.js.
 *
 * Usage (worker):
 *   const plan = patchConfigJson(storedConfigJsonBytes, contextLength);
 *   // serve plan.bytes as config.json (the stored bytes themselves when plan.changed is false)
 *   const graph = patchOnnxRope(storedGraphBytes, plan.original, plan.patched);
 *   // serve graph.bytes as onnx/model_*.onnx; the .onnx_data files are served unchanged
 * Both throw RopePatchError (typed `code`) when the model cannot be extended safely.
 *
 * Recognised RoPE forms (only top-level initializers stored inline in the small .onnx file):
 * - 'inv-freq': Hanmadi's converter (docs/model-format.md): `rope.inv_freq` float32 [head_dim/2]
 *   and `rope.attention_scale` float32 []; cos/sin are computed in the graph from position_ids.
 * - 'cos-sin-cache': onnxruntime-genai's model builder and onnxruntime's RotaryEmbedding fusion
 *   (the layout of onnx-community's GroupQueryAttention exports): `cos_cache` / `sin_cache`
 *   [max_positions, head_dim/2] in float32 or float16 holding cos/sin(p · inv_freq) · attention
 *   factor, read by com.microsoft GroupQueryAttention (do_rotary) or RotaryEmbedding. Recomputed
 *   for the new length, so they grow. The builder saves them as external data, which is refused
 *   ('external-rope'); so is anything else: RoPE in Constant nodes or If-subgraphs (longrope),
 *   or torch.onnx / Optimum traces whose inv_freq was constant-folded under a generated name
 *   ('unrecognised-rope').
 * Before patching, the stored constants must equal what the original config gives (within float32
 * rounding), so a graph converted from another config is never silently "extended".
 */
import { type HfLlamaConfig } from './config.ts';
import {
  OnnxFormatError,
  readInitializers,
  replaceInitializers,
  TENSOR_FLOAT,
  TENSOR_FLOAT16,
  type InitializerView,
  type TensorReplacement,
} from './onnx-initializers.ts';
import { computeRopeParameters, KANANA_YARN_RECIPE, patchConfigForContext, ropeTable, type RopeParameters, type YarnRecipe } from './yarn.ts';
import { ROPE_ATTENTION_SCALE, ROPE_COS_CACHE, ROPE_INV_FREQ, ROPE_SIN_CACHE } from './graph-format.ts';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../lib/float16.ts';

export type RopePatchErrorCode = 'invalid-config' | 'invalid-onnx' | 'unsupported-rope' | 'unrecognised-rope' | 'external-rope';

export class RopePatchError extends Error {
  constructor(
    readonly code: RopePatchErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RopePatchError';
  }
}

export { ROPE_ATTENTION_SCALE, ROPE_COS_CACHE, ROPE_INV_FREQ, ROPE_SIN_CACHE };

export type RopeForm = 'inv-freq' | 'cos-sin-cache';

export interface PatchedConfig {
  /** config.json to serve: the input bytes themselves when nothing changes. */
  bytes: Uint8Array;
  original: HfLlamaConfig;
  patched: HfLlamaConfig;
  /** False when the length fits the native window (the patch is the identity). */
  changed: boolean;
}

export interface PatchedGraph {
  /** The .onnx to serve: the input bytes themselves when `changed` is false. */
  bytes: Uint8Array;
  /** The RoPE form found and rewritten, or null when nothing had to change. */
  form: RopeForm | null;
  changed: boolean;
}

/** config.json bytes → the config for `contextLength` tokens (yarn.ts patchConfigForContext). */
export function patchConfigJson(configBytes: Uint8Array, contextLength: number, recipe: YarnRecipe = KANANA_YARN_RECIPE): PatchedConfig {
  if (!Number.isInteger(contextLength) || contextLength <= 0)
    throw new RopePatchError('invalid-config', `Context length must be a positive integer, got ${contextLength}.`);
  let original: HfLlamaConfig;
  try {
    original = JSON.parse(new TextDecoder().decode(configBytes)) as HfLlamaConfig;
  } catch {
    throw new RopePatchError('invalid-config', 'config.json is not valid JSON.');
  }
  if (typeof original !== 'object' || original === null || typeof original.max_position_embeddings !== 'number') {
    throw new RopePatchError('invalid-config', 'config.json has no numeric max_position_embeddings.');
  }
  let patched: HfLlamaConfig;
  try {
    patched = patchConfigForContext(original, contextLength, recipe);
  } catch (error) {
    throw new RopePatchError('unsupported-rope', (error as Error).message);
  }
  if (patched === original) return { bytes: configBytes, original, patched, changed: false };
  return { bytes: new TextEncoder().encode(JSON.stringify(patched, null, 2) + '\n'), original, patched, changed: true };
}

function ropeOf(config: HfLlamaConfig): RopeParameters {
  try {
    return computeRopeParameters(config);
  } catch (error) {
    throw new RopePatchError('unsupported-rope', (error as Error).message);
  }
}

/** An aligned copy (a Node Buffer's slice() would alias its pool instead of copying). */
const alignedCopy = (bytes: Uint8Array): ArrayBuffer => new Uint8Array(bytes).buffer;

/** An inline float32/float16 initializer's values as float32 (null when stored otherwise). */
function inlineValues(tensor: InitializerView): Float32Array | null {
  if (tensor.dataType === TENSOR_FLOAT) {
    if (tensor.floatData) return tensor.floatData;
    if (tensor.rawData && tensor.rawData.length % 4 === 0) return new Float32Array(alignedCopy(tensor.rawData));
  }
  if (tensor.dataType === TENSOR_FLOAT16 && tensor.rawData && tensor.rawData.length % 2 === 0) {
    const bits = new Uint16Array(alignedCopy(tensor.rawData));
    return Float32Array.from(bits, float16BitsToFloat32);
  }
  return null;
}

function encodeValues(values: Float32Array, dataType: number): Uint8Array {
  if (dataType === TENSOR_FLOAT16) return new Uint8Array(Uint16Array.from(values, float32ToFloat16Bits).buffer);
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

const unrecognised = (detail: string) =>
  new RopePatchError(
    'unrecognised-rope',
    `This model's RoPE constants were not recognised (${detail}), so its context cannot be extended safely; use its native window.`,
  );

const dimsText = (dims: number[]) => `[${dims.join(', ')}]`;

/** Hanmadi's inv_freq + attention_scale pair; checks the stored values against `from`. */
function patchInvFreq(invFreq: InitializerView, scale: InitializerView, from: RopeParameters, to: RopeParameters): Map<string, TensorReplacement> {
  const half = from.invFreq.length;
  if (invFreq.dataType !== TENSOR_FLOAT || scale.dataType !== TENSOR_FLOAT || dimsText(invFreq.dims) !== `[${half}]` || scale.dims.length !== 0) {
    throw unrecognised(`${ROPE_INV_FREQ} ${dimsText(invFreq.dims)} / ${ROPE_ATTENTION_SCALE} ${dimsText(scale.dims)} are not float32 [${half}] / []`);
  }
  const stored = inlineValues(invFreq);
  const storedScale = inlineValues(scale);
  if (!stored || !storedScale || stored.length !== half || storedScale.length !== 1) throw unrecognised(`${ROPE_INV_FREQ} holds no inline float32 values`);
  for (let i = 0; i < half; i++) {
    // Converter output is exact; a few float32 ulps allow another build of the same formulas.
    if (!(Math.abs(stored[i] - from.invFreq[i]) <= 1e-6 * Math.abs(from.invFreq[i]))) {
      throw unrecognised(`${ROPE_INV_FREQ}[${i}] = ${stored[i]} but the config gives ${from.invFreq[i]}`);
    }
  }
  if (!(Math.abs(storedScale[0] - from.attentionFactor) <= 1e-6 * from.attentionFactor)) {
    throw unrecognised(`${ROPE_ATTENTION_SCALE} = ${storedScale[0]} but the config gives ${from.attentionFactor}`);
  }
  return new Map([
    [ROPE_INV_FREQ, { dims: [half], rawData: encodeValues(Float32Array.from(to.invFreq), TENSOR_FLOAT) }],
    [ROPE_ATTENTION_SCALE, { dims: [], rawData: encodeValues(Float32Array.of(to.attentionFactor), TENSOR_FLOAT) }],
  ]);
}

/**
 * onnxruntime-genai / RotaryEmbedding-fusion caches; checks every stored value against `from`.
 * The tolerance allows one float32 rounding of the angle p · inv_freq (exporters that form it in
 * float64 differ from torch's float32 by up to that much), plus the storage type's rounding.
 */
function patchCosSinCache(
  cos: InitializerView,
  sin: InitializerView,
  from: RopeParameters,
  to: RopeParameters,
  contextLength: number,
): Map<string, TensorReplacement> {
  const half = from.invFreq.length;
  for (const cache of [cos, sin]) {
    if (cache.external) {
      throw new RopePatchError(
        'external-rope',
        `This model keeps its RoPE table ${cache.name} in external data, which Hanmadi does not rewrite; its context cannot be extended, use its native window.`,
      );
    }
    if (![TENSOR_FLOAT, TENSOR_FLOAT16].includes(cache.dataType) || cache.dims.length !== 2 || cache.dims[1] !== half || cache.dims[0] < 1) {
      throw unrecognised(`${cache.name} is ${dimsText(cache.dims)} of type ${cache.dataType}, not float32/float16 [positions, ${half}]`);
    }
  }
  if (cos.dims[0] !== sin.dims[0] || cos.dataType !== sin.dataType) throw unrecognised(`${ROPE_COS_CACHE} and ${ROPE_SIN_CACHE} differ in shape or type`);
  const rows = cos.dims[0];
  const storageTolerance = cos.dataType === TENSOR_FLOAT16 ? 1e-3 : 4e-6;
  for (const [cache, kind] of [
    [cos, 'cos'],
    [sin, 'sin'],
  ] as const) {
    const stored = inlineValues(cache);
    if (!stored || stored.length !== rows * half) throw unrecognised(`${cache.name} holds no inline values`);
    const expected = ropeTable(kind, from, rows);
    for (let p = 0; p < rows; p++) {
      for (let j = 0; j < half; j++) {
        const k = p * half + j;
        const angleRounding = 1.2e-7 * p * from.invFreq[j] * from.attentionFactor;
        if (!(Math.abs(stored[k] - expected[k]) <= storageTolerance + angleRounding)) {
          throw unrecognised(`${cache.name}[${p}, ${j}] = ${stored[k]} but the config gives ${expected[k]}`);
        }
      }
    }
  }
  const newRows = Math.max(rows, contextLength);
  return new Map(
    (
      [
        [ROPE_COS_CACHE, 'cos'],
        [ROPE_SIN_CACHE, 'sin'],
      ] as const
    ).map(([name, kind]) => [name, { dims: [newRows, half], rawData: encodeValues(ropeTable(kind, to, newRows), cos.dataType) }]),
  );
}

/**
 * The graph with its RoPE constants recomputed for `patched` (from patchConfigJson), after
 * checking they are what `original` gives. Identity (same bytes, nothing parsed) when the configs
 * are the same object, i.e. the length fits the native window.
 */
export function patchOnnxRope(graphBytes: Uint8Array, original: HfLlamaConfig, patched: HfLlamaConfig): PatchedGraph {
  if (patched === original) return { bytes: graphBytes, form: null, changed: false };
  const from = ropeOf(original);
  const to = ropeOf(patched);
  if (to.invFreq.length !== from.invFreq.length) throw new RopePatchError('unsupported-rope', 'The patched config changes head_dim.');
  let initializers: InitializerView[];
  try {
    initializers = readInitializers(graphBytes);
  } catch (error) {
    if (error instanceof OnnxFormatError) throw new RopePatchError('invalid-onnx', error.message);
    throw error;
  }
  const byName = new Map(initializers.map((t) => [t.name, t]));
  const invFreq = byName.get(ROPE_INV_FREQ);
  const scale = byName.get(ROPE_ATTENTION_SCALE);
  const cos = byName.get(ROPE_COS_CACHE);
  const sin = byName.get(ROPE_SIN_CACHE);

  let form: RopeForm;
  let replacements: Map<string, TensorReplacement>;
  if (invFreq && scale && !cos && !sin) {
    form = 'inv-freq';
    replacements = patchInvFreq(invFreq, scale, from, to);
  } else if (cos && sin && !invFreq && !scale) {
    form = 'cos-sin-cache';
    replacements = patchCosSinCache(cos, sin, from, to, patched.max_position_embeddings);
  } else {
    const ropeLike = initializers.map((t) => t.name).filter((name) => /inv_freq|cos_cache|sin_cache|rotary|rope/i.test(name));
    throw unrecognised(
      ropeLike.length
        ? `found ${ropeLike.join(', ')} but not exactly one known pair (${ROPE_INV_FREQ} + ${ROPE_ATTENTION_SCALE}, or ${ROPE_COS_CACHE} + ${ROPE_SIN_CACHE})`
        : `no ${ROPE_INV_FREQ} + ${ROPE_ATTENTION_SCALE} or ${ROPE_COS_CACHE} + ${ROPE_SIN_CACHE} initializers`,
    );
  }
  return { bytes: replaceInitializers(graphBytes, replacements), form, changed: true };
}
