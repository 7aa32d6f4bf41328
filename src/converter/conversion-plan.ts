/**
 * The conversion plan: every dtype's graph with each weight placed in its external data, and the
 * order the checkpoint's tensors are converted in, all from the config alone (no weight is read).
 * The converter core (convert.ts) follows it; the in-browser conversion sizes its files from it.
 */
import type { LlamaShape } from '../model/config.ts';
import type { GraphDtype } from '../model/graph-format.ts';
import { DTYPE_FILE_SUFFIX } from '../model/model-files.ts';
import type { RopeParameters } from '../model/yarn.ts';
import { layoutExternalData, type ExternalLocation } from './external-data.ts';
import { planLlamaGraph, type GraphOptions } from './llama-graph.ts';
import type { Graph, Tensor } from './onnx-proto.ts';
import { isQ8, type Q8Part, type WeightSpec } from './weight-encoding.ts';

export type ConvertDtype = GraphDtype;
export const graphFileName = (dtype: ConvertDtype) => `model${DTYPE_FILE_SUFFIX[dtype]}.onnx`;

/** A weight of one dtype's graph and its place in that graph's external data. */
export interface PlannedWeight {
  dtype: ConvertDtype;
  spec: WeightSpec;
  target: ExternalLocation;
}

/** One checkpoint tensor and every weight (of every dtype) made from it, each dtype in write order. */
export interface ConversionStep {
  source: string;
  sourceShape: number[];
  /** Written at this step. */
  weights: PlannedWeight[];
  /** q8 weights this tensor fills columns of; each is written at the step of its last part (this one or a later one). */
  fills: { weight: PlannedWeight; part: Q8Part }[];
}

export interface ConversionPlan {
  /** Each dtype's graph, its external initializers already pointing at their final place. */
  graphs: Map<ConvertDtype, Graph>;
  steps: ConversionStep[];
}

/**
 * Plans every graph and the order tensors are converted in: by checkpoint tensor, in the order the
 * graph first uses them, each dtype's weights of a tensor written together (so a tied head
 * follows the embedding table in external data). Needs no weights.
 */
export function planConversion(
  shape: LlamaShape,
  rope: RopeParameters,
  dtypes: readonly ConvertDtype[],
  maxChunkBytes: number,
  options: GraphOptions = {},
): ConversionPlan {
  const graphs = new Map<ConvertDtype, Graph>();
  const steps = new Map<string, ConversionStep>();
  for (const dtype of dtypes) {
    const bySource = new Map<string, { spec: WeightSpec; tensor: Tensor }[]>();
    const graph = planLlamaGraph(
      shape,
      rope,
      dtype,
      (spec) => {
        const tensor: Tensor = { name: spec.name, dataType: spec.dataType, dims: spec.dims, data: { location: '', offset: 0, length: spec.byteLength } };
        const group = bySource.get(spec.source) ?? [];
        group.push({ spec, tensor });
        bySource.set(spec.source, group);
        return tensor;
      },
      options,
    );
    const writeOrder = [...bySource.values()].flat();
    const layout = layoutExternalData(
      writeOrder.map((w) => w.spec.byteLength),
      graphFileName(dtype),
      maxChunkBytes,
    );
    const stepOf = (source: string, sourceShape: number[]) => {
      const step = steps.get(source) ?? { source, sourceShape, weights: [], fills: [] };
      steps.set(source, step);
      return step;
    };
    writeOrder.forEach(({ spec, tensor }, i) => {
      tensor.data = layout[i];
      const weight: PlannedWeight = { dtype, spec, target: layout[i] };
      // A q8 weight's parts are read in their own steps, in order, before the last one writes it.
      if (isQ8(spec.encoding)) for (const part of spec.encoding.parts) stepOf(part.source, part.shape).fills.push({ weight, part });
      stepOf(spec.source, spec.sourceShape).weights.push(weight);
    });
    graphs.set(dtype, graph);
  }
  return { graphs, steps: [...steps.values()] };
}

/** How many q8 weights are partly filled after the first `done` steps (a state there cannot be resumed). */
export function fusedWeightsOpenAfter(plan: ConversionPlan, done: number): number {
  const begun = new Set(plan.steps.slice(0, done).flatMap((step) => step.fills.map((f) => f.weight)));
  for (const step of plan.steps.slice(0, done)) for (const weight of step.weights) begun.delete(weight);
  return begun.size;
}
