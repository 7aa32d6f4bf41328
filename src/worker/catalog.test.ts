import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseDtype, parseCatalog, parseCatalogEntry, type ModelDtype } from '../model/catalog.ts';
import { CONVERTED_DTYPES } from './probe-repo.ts';

const entry = (...dtypes: ModelDtype[]) => ({ dtypes: Object.fromEntries(dtypes.map((d) => [d, null])) });
const wasm = { kind: 'wasm', shaderF16: false } as const;
const webgpu = (shaderF16: boolean) => ({ kind: 'webgpu', shaderF16 }) as const;

describe('chooseDtype', () => {
  it('prefers q8 on WASM, then q4, then fp32', () => {
    expect(chooseDtype(entry('q4f16', 'q4', 'q8', 'fp32'), wasm)).toBe('q8');
    expect(chooseDtype(entry('q4f16', 'q4', 'fp32'), wasm)).toBe('q4');
    expect(chooseDtype(entry('fp16', 'fp32'), wasm)).toBe('fp32');
  });

  it('never picks q8 on WebGPU (DynamicQuantizeMatMul would run on the CPU)', () => {
    expect(chooseDtype(entry('q8', 'q4', 'q4f16'), webgpu(true))).toBe('q4f16');
    expect(chooseDtype(entry('q8', 'q4'), webgpu(false))).toBe('q4');
    expect(chooseDtype(entry('q8'), webgpu(true))).toBeNull();
  });

  it('reads a q8 size from a catalog entry', () => {
    const parsed = parseCatalogEntry({ id: 'm', label: 'M', source: { kind: 'url', baseUrl: 'https://x/m' }, dtypes: { q8: 2_100_000_000, q4: null } });
    expect(parsed?.dtypes).toEqual({ q4: null, q8: 2_100_000_000 });
  });

  it('reads a model’s sizing, and drops one that is not whole positive counts', () => {
    const sizing = { layers: 32, hidden: 1792, intermediate: 8064, heads: 24, kvHeads: 8, headDim: 128, vocab: 128256, tied: true };
    const at = (value: unknown) => parseCatalogEntry({ id: 'm', label: 'M', source: { kind: 'url', baseUrl: 'https://x/m' }, sizing: value })?.sizing;
    expect(at({ ...sizing, extra: 'kept out' })).toEqual(sizing);
    expect(at({ ...sizing, layers: 0 })).toBeUndefined();
    expect(at({ ...sizing, vocab: 1.5 })).toBeUndefined();
    expect(at({ ...sizing, tied: 'yes' })).toBeUndefined();
    expect(at('32 layers')).toBeUndefined();
  });
});

describe('the catalog file', () => {
  const file = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'public', 'models.json'), 'utf8')) as unknown;

  it('has a 3B Korean Llama converted in the browser from its official repository, with its licence and its makers’ Korean score', () => {
    const bllossom = parseCatalog(file).find((e) => e.id === 'llama-3.2-korean-bllossom-3b');
    expect(bllossom).toMatchObject({
      params: '3.2B',
      license: 'Llama 3.2 Community License',
      nativeContext: 131072,
      source: { kind: 'hf-safetensors', repo: 'Bllossom/llama-3.2-Korean-Bllossom-3B', revision: 'main' },
      koreanScores: { source: "Bllossom's model card", scores: [{ benchmark: 'LogicKor' }] },
    });
    expect(Object.keys(bllossom!.dtypes)).toEqual([...CONVERTED_DTYPES]);
    expect(bllossom!.licenseNote).toMatch(/700 million monthly users/);
  });

  it('keeps only well-formed Korean scores', () => {
    const base = { id: 'm', label: 'M', source: { kind: 'url', baseUrl: 'https://x/m' } };
    expect(
      parseCatalogEntry({ ...base, koreanScores: { source: 'X', scores: [{ benchmark: 'KoMT-Bench', value: '7.0' }, { benchmark: 1 }] } })?.koreanScores,
    ).toEqual({
      source: 'X',
      scores: [{ benchmark: 'KoMT-Bench', value: '7.0' }],
    });
    expect(parseCatalogEntry({ ...base, koreanScores: { source: 'X', scores: [] } })?.koreanScores).toBeUndefined();
  });
});
