/**
 * Acquires the WebGPU device the model runs on. Hanmadi creates the device itself (instead of
 * letting ONNX Runtime do it) so that it can (1) request the adapter's full buffer limits — the
 * default 256 MiB maxStorageBufferBindingSize is too small for a 2B model's embedding or a long
 * KV cache — and (2) watch `device.lost` to tell the user instead of failing silently.
 */
import { decideDevice, isSoftwareAdapter, type AdapterIdentity, type DevicePreference } from '../model/device-choice.ts';
import type { AdapterSummary, DeviceProbe } from './protocol.ts';

export type GpuAcquisition =
  | { ok: true; adapter: GPUAdapter; device: GPUDevice; summary: AdapterSummary }
  | { ok: false; reason: 'no-webgpu-api' | 'no-adapter' | 'software-adapter' | 'device-request-failed'; detail?: string };

/** The adapter's self-description; `isFallbackAdapter` moved from GPUAdapter to its info, and either may be absent. */
function identityOf(adapter: GPUAdapter): AdapterIdentity {
  const info = adapter.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined;
  const legacyFlag = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return {
    vendor: info?.vendor,
    architecture: info?.architecture,
    description: info?.description,
    isFallbackAdapter: info?.isFallbackAdapter ?? legacyFlag,
  };
}

const adapterName = (identity: AdapterIdentity) => [identity.vendor, identity.architecture, identity.description].filter(Boolean).join(' ');

/** Features ONNX Runtime's WebGPU EP uses when present (the set its own device request asks for). */
const OPTIONAL_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;

/**
 * The optional features to request. `subgroups` is withheld where a subgroup can be narrower than
 * 8 lanes (SwiftShader: 4): onnxruntime-web's FlashAttention prefill kernel, which
 * GroupQueryAttention runs for chunks of 32+ tokens, handles 8 or 16 keys per step through
 * subgroup shuffles and computes wrong attention on such subgroups; without the feature it takes
 * its shared-memory path, which is exact (e2e/attention-backends.spec.ts).
 */
export function featuresToRequest(available: ReadonlySet<string>, info: { subgroupMinSize?: number } | undefined): GPUFeatureName[] {
  const narrowSubgroups = !((info?.subgroupMinSize ?? 0) >= 8);
  return OPTIONAL_FEATURES.filter((f) => available.has(f) && !(f === 'subgroups' && narrowSubgroups)) as GPUFeatureName[];
}

/** Whether WebGPU can run models here and with which precisions, without creating a device. */
export async function probeWebGpu(): Promise<DeviceProbe> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { webgpu: false, shaderF16: false, reason: 'no-webgpu-api' };
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { webgpu: false, shaderF16: false, reason: 'no-adapter' };
    const { maxBufferSize, maxStorageBufferBindingSize } = adapter.limits;
    const identity = identityOf(adapter);
    return {
      webgpu: true,
      software: isSoftwareAdapter(identity),
      adapterName: adapterName(identity),
      shaderF16: adapter.features.has('shader-f16'),
      limits: { maxBufferSize, maxStorageBufferBindingSize },
    };
  } catch (error) {
    return { webgpu: false, shaderF16: false, reason: `no-adapter: ${String(error)}` };
  }
}

/** The GPU device for a preference that may use one; Automatic declines a software adapter before creating a device. */
export async function acquireWebGpu(preference: Exclude<DevicePreference, 'wasm'>): Promise<GpuAcquisition> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { ok: false, reason: 'no-webgpu-api' };
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    return { ok: false, reason: 'no-adapter', detail: String(error) };
  }
  if (!adapter) return { ok: false, reason: 'no-adapter' };
  const identity = identityOf(adapter);
  if (decideDevice(preference, { available: true, software: isSoftwareAdapter(identity) }).device === 'wasm') {
    return { ok: false, reason: 'software-adapter', detail: adapterName(identity) };
  }
  const limits = adapter.limits;
  const requiredFeatures = featuresToRequest(adapter.features, adapter.info);
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredFeatures,
      requiredLimits: {
        maxBufferSize: limits.maxBufferSize,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupSizeY: limits.maxComputeWorkgroupSizeY,
        maxComputeWorkgroupSizeZ: limits.maxComputeWorkgroupSizeZ,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        // onnxruntime's fused norm + q/k/v and norm + gate/up kernels bind more than the default 8.
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      },
    });
  } catch (error) {
    return { ok: false, reason: 'device-request-failed', detail: String(error) };
  }
  const info = adapter.info;
  return {
    ok: true,
    adapter,
    device,
    summary: {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      description: info?.description ?? '',
      shaderF16: device.features.has('shader-f16'),
      maxBufferSize: device.limits.maxBufferSize,
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
    },
  };
}
