/**
 * A load that would download the model again in another precision: the GPU and the CPU prefer
 * different formats (q4f16/q4 on WebGPU, q8 on WebAssembly, src/model/catalog.ts), so switching
 * "Run on" (or the precision) can mean a second download of the same model. Load says so first,
 * and offers the stored precision instead where this device runs it.
 */
import { runnableDtypes, type ModelDtype, type RunDevice } from '../../model/catalog.ts';

export interface SecondDownload {
  /** The precision this load would download. */
  dtype: ModelDtype;
  device: RunDevice['kind'];
  /** The precisions of this model already complete on this device. */
  storedDtypes: ModelDtype[];
  /** A stored precision this device runs (the best), or null when none does. */
  usableDtype: ModelDtype | null;
  /** The other device ("Run on"), when it would run a stored precision. */
  otherDevice: RunDevice['kind'] | null;
}

/**
 * null when nothing else is stored, or when `dtype` is stored already, even in part (a resume,
 * not a second download).
 */
export function secondDownloadOf(
  modelKey: string,
  dtype: ModelDtype,
  device: RunDevice,
  /** The device the other "Run on" choice would use; null when there is none (no WebGPU). */
  otherDevice: RunDevice | null,
  stored: readonly { modelKey: string; dtype: ModelDtype; status: string }[],
): SecondDownload | null {
  const ofModel = stored.filter((m) => m.modelKey === modelKey);
  if (ofModel.some((m) => m.dtype === dtype)) return null;
  const storedDtypes = ofModel.filter((m) => m.status === 'complete').map((m) => m.dtype);
  if (storedDtypes.length === 0) return null;
  const usableDtype = runnableDtypes(device).find((d) => storedDtypes.includes(d)) ?? null;
  const otherRuns = otherDevice !== null && runnableDtypes(otherDevice).some((d) => storedDtypes.includes(d));
  return { dtype, device: device.kind, storedDtypes, usableDtype, otherDevice: otherRuns ? otherDevice.kind : null };
}
