import { describe, expect, it } from 'vitest';
import { cpuThreadCount, decideDevice, isSoftwareAdapter, MAX_CPU_THREADS, parseDevicePreference } from './device-choice.ts';

describe('isSoftwareAdapter', () => {
  it('knows the software renderers by vendor, architecture or description', () => {
    expect(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', description: '' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'mesa', description: 'Lavapipe' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' })).toBe(true);
  });

  it('trusts the fallback flag whatever the name', () => {
    expect(isSoftwareAdapter({ vendor: 'acme', architecture: 'x', isFallbackAdapter: true })).toBe(true);
  });

  it('does not take real GPUs for software', () => {
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'intel', architecture: 'gen-12lp', description: 'Intel(R) Iris(R) Xe Graphics' })).toBe(false);
    // "warp" only as a word: an architecture name that merely contains the letters is not WARP.
    expect(isSoftwareAdapter({ vendor: 'qualcomm', architecture: 'adreno-warpx' })).toBe(false);
    expect(isSoftwareAdapter({})).toBe(false);
  });
});

describe('decideDevice', () => {
  const real = { available: true, software: false };
  const software = { available: true, software: true };
  const none = { available: false, software: false };

  it('runs Automatic on a real GPU and on the CPU beside a software adapter, saying why', () => {
    expect(decideDevice('auto', real)).toEqual({ device: 'webgpu' });
    expect(decideDevice('auto', software)).toEqual({ device: 'wasm', reason: 'software-adapter' });
    expect(decideDevice('auto', none)).toEqual({ device: 'wasm', reason: 'no-webgpu' });
  });

  it('lets the GPU choice force a software adapter, but not an absent one', () => {
    expect(decideDevice('webgpu', software)).toEqual({ device: 'webgpu' });
    expect(decideDevice('webgpu', none)).toEqual({ device: 'wasm', reason: 'no-webgpu' });
  });

  it('keeps the CPU choice whatever the GPU', () => {
    for (const gpu of [real, software, none]) expect(decideDevice('wasm', gpu)).toEqual({ device: 'wasm', reason: 'chosen' });
  });
});

describe('parseDevicePreference', () => {
  it('reads back each choice, and anything else as Automatic', () => {
    expect(parseDevicePreference('webgpu')).toBe('webgpu');
    expect(parseDevicePreference('wasm')).toBe('wasm');
    expect(parseDevicePreference('auto')).toBe('auto');
    for (const other of [null, undefined, '', 'cuda', 'WEBGPU']) expect(parseDevicePreference(other)).toBe('auto');
  });
});

describe('cpuThreadCount', () => {
  it('uses the reported cores where the page is cross-origin isolated, capped', () => {
    expect(cpuThreadCount(2, true)).toBe(2);
    expect(cpuThreadCount(6, true)).toBe(6);
    expect(cpuThreadCount(64, true)).toBe(MAX_CPU_THREADS);
  });

  it('runs one thread without isolation (no SharedArrayBuffer) or without a usable core count', () => {
    expect(cpuThreadCount(8, false)).toBe(1);
    expect(cpuThreadCount(undefined, true)).toBe(1);
    expect(cpuThreadCount(0, true)).toBe(1);
    expect(cpuThreadCount(Number.NaN, true)).toBe(1);
  });
});
