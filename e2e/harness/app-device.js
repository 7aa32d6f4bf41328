// The WebGPU device the app runs models on, for harness pages (which load no app code): the
// features rule of featuresToRequest in src/worker/gpu.ts — the adapter's optional features that
// ONNX Runtime uses, without `subgroups` where a subgroup can be narrower than 8 lanes
// (SwiftShader: 4), on which onnxruntime-web's FlashAttention prefill kernel is wrong.
export async function appDevice() {
  const adapter = await navigator.gpu.requestAdapter();
  const narrowSubgroups = !(adapter.info?.subgroupMinSize >= 8);
  const requiredFeatures = ['shader-f16', 'subgroups', 'timestamp-query'].filter((f) => adapter.features.has(f) && !(f === 'subgroups' && narrowSubgroups));
  // As the app: the adapter's storage-buffer limit (onnxruntime's fused norm + matmul kernels bind more than 8).
  return adapter.requestDevice({ requiredFeatures, requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } });
}
