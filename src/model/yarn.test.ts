import { describe, expect, it } from 'vitest';
import { FIXTURES, KANANA_NANO_CONFIG, LLAMA32_3B_CONFIG } from '../testing/fixture-specs.ts';
import type { HfLlamaConfig } from './config.ts';
import {
  computeDefaultInvFreq,
  computeRopeParameters,
  computeYarnInvFreq,
  extendsWithYarn,
  llama3RopeFreqFactors,
  patchConfigForContext,
  yarnCorrectionDim,
  yarnCorrectionRange,
} from './yarn.ts';

function kananaConfig(ropeTheta: number, scaling: HfLlamaConfig['rope_scaling'] = null): HfLlamaConfig {
  return { ...KANANA_NANO_CONFIG, rope_theta: ropeTheta, rope_scaling: scaling };
}
const recipe = { type: 'yarn', factor: 4.4, original_max_position_embeddings: 32768, beta_fast: 64, beta_slow: 2 };

describe('default RoPE', () => {
  it('is theta^(-2i/d), using head_dim rather than hidden/heads', () => {
    const inv = computeRopeParameters(kananaConfig(500000)).invFreq;
    expect(inv.length).toBe(64); // 128 / 2, not (1792 / 24) / 2
    expect(inv[0]).toBe(1);
    // i = 32: 500000^(-64/128) = 1/sqrt(500000)
    expect(inv[32]).toBeCloseTo(1 / Math.sqrt(500000), 9);
  });
});

describe('YaRN (Kanana recipe)', () => {
  it('correction dims are where the original window holds beta rotations', () => {
    for (const [beta, base] of [
      [64, 500000],
      [2, 1e6],
    ] as const) {
      const d = yarnCorrectionDim(beta, 128, base, 32768);
      // wavelength of the (fractional) dimension d: 2π · base^(2d/128)
      const wavelength = 2 * Math.PI * Math.pow(base, (2 * d) / 128);
      expect(32768 / wavelength).toBeCloseTo(beta, 9);
    }
  });

  it('truncated range matches a hand computation', () => {
    // by hand: 128·ln(32768/(2π·64)) / (2·ln 500000) = 21.46…, 128·ln(32768/(2π·2)) / (2·ln 500000) = 38.37…
    expect(yarnCorrectionRange(64, 2, 128, 500000, 32768, true)).toEqual([21, 39]);
    // theta 1e6: 20.38… and 36.44…
    expect(yarnCorrectionRange(64, 2, 128, 1e6, 32768, true)).toEqual([20, 37]);
    const [low, high] = yarnCorrectionRange(64, 2, 128, 500000, 32768, false);
    expect(low).toBeGreaterThan(21);
    expect(high).toBeLessThan(39);
  });

  for (const theta of [500000, 1e6]) {
    it(`keeps high frequencies, interpolates low ones, ramps between (theta ${theta})`, () => {
      const { invFreq, attentionFactor } = computeYarnInvFreq(kananaConfig(theta, recipe));
      const plain = computeDefaultInvFreq(theta, 128);
      const [low, high] = yarnCorrectionRange(64, 2, 128, theta, 32768, true);
      expect(attentionFactor).toBeCloseTo(1 + 0.1 * Math.log(4.4), 12);
      expect(attentionFactor).toBeCloseTo(1.1481604541, 9);
      for (let i = 0; i < 64; i++) {
        if (i <= low) expect(invFreq[i]).toBeCloseTo(plain[i], 12);
        else if (i >= high) expect(invFreq[i] / (plain[i] / 4.4)).toBeCloseTo(1, 6);
        else {
          const ramp = (i - low) / (high - low);
          const expected = (plain[i] / 4.4) * ramp + plain[i] * (1 - ramp);
          expect(invFreq[i] / expected).toBeCloseTo(1, 6);
        }
      }
    });
  }

  it('accepts rope_type, mscale pairs, explicit attention_factor and max/original', () => {
    const byRopeType = computeYarnInvFreq(kananaConfig(500000, { ...recipe, type: undefined, rope_type: 'yarn' }));
    expect(byRopeType.attentionFactor).toBeCloseTo(1 + 0.1 * Math.log(4.4), 12);
    const mscale = computeYarnInvFreq(kananaConfig(500000, { ...recipe, mscale: 2, mscale_all_dim: 1 }));
    expect(mscale.attentionFactor).toBeCloseTo((0.2 * Math.log(4.4) + 1) / (0.1 * Math.log(4.4) + 1), 12);
    expect(computeYarnInvFreq(kananaConfig(500000, { ...recipe, attention_factor: 0.5 })).attentionFactor).toBe(0.5);
    const derived = { ...kananaConfig(500000, { type: 'yarn', original_max_position_embeddings: 8192 }) };
    expect(computeYarnInvFreq(derived).attentionFactor).toBeCloseTo(1 + 0.1 * Math.log(4), 12);
  });

  it('reads transformers v5 rope_parameters like rope_theta + rope_scaling', () => {
    const v5 = { ...kananaConfig(1e6), rope_theta: undefined, rope_parameters: { rope_theta: 1e6, ...recipe, type: undefined, rope_type: 'yarn' } };
    const v4 = computeYarnInvFreq(kananaConfig(1e6, recipe));
    const fromV5 = computeRopeParameters(v5);
    expect(Array.from(fromV5.invFreq)).toEqual(Array.from(v4.invFreq));
    expect(fromV5.attentionFactor).toBe(v4.attentionFactor);
    const plain = computeRopeParameters({ ...kananaConfig(1e6), rope_theta: undefined, rope_parameters: { rope_theta: 1e6, rope_type: 'default' } });
    expect(Array.from(plain.invFreq)).toEqual(Array.from(computeDefaultInvFreq(1e6, 128)));
  });

  it('follows transformers v5 precedence: legacy rope_scaling, then rope_parameters; theta inside the dict wins', () => {
    const yarnV5 = { rope_type: 'yarn', rope_theta: 1e6, factor: 4.4, original_max_position_embeddings: 32768, beta_fast: 64, beta_slow: 2 };
    // A top-level rope_theta (500000) must not override the one in rope_parameters (1e6).
    const both = computeRopeParameters({ ...kananaConfig(500000), rope_parameters: yarnV5 });
    expect(Array.from(both.invFreq)).toEqual(Array.from(computeYarnInvFreq(kananaConfig(1e6, recipe)).invFreq));
    // A non-empty legacy rope_scaling is read first (v5's convert_rope_params_to_dict), with the top-level theta.
    const legacy = computeRopeParameters({ ...kananaConfig(500000, { type: 'linear', factor: 2 }), rope_parameters: yarnV5 });
    expect(legacy.attentionFactor).toBe(1);
    expect(legacy.invFreq[0]).toBe(0.5);
  });

  it('takes a top-level original_max_position_embeddings over the one in rope_scaling (v5, Phi-3 style)', () => {
    const topLevel = computeYarnInvFreq({
      ...kananaConfig(500000, { ...recipe, original_max_position_embeddings: 4096 }),
      original_max_position_embeddings: 32768,
    });
    expect(Array.from(topLevel.invFreq)).toEqual(Array.from(computeYarnInvFreq(kananaConfig(500000, recipe)).invFreq));
  });

  it('truncates the correction range unless truncate is false (or null, falsy in Python)', () => {
    const truncated = computeYarnInvFreq(kananaConfig(500000, recipe)).invFreq;
    for (const truncate of [false, null]) {
      const smooth = computeYarnInvFreq(kananaConfig(500000, { ...recipe, truncate: truncate as boolean })).invFreq;
      // Unrounded range 21.46…38.36…: dimension 22 is on the ramp in both, at different heights.
      const ramp = (22 - 21.46173182776455) / (38.364715794899375 - 21.46173182776455);
      const plain = Math.pow(500000, -44 / 128);
      expect(smooth[22] / (plain * (1 - ramp + ramp / 4.4))).toBeCloseTo(1, 6);
      expect(smooth[22]).not.toBe(truncated[22]);
    }
  });

  it('refuses partial rotary embeddings, which the graph does not build', () => {
    expect(() => computeRopeParameters({ ...kananaConfig(500000), partial_rotary_factor: 0.5 })).toThrow(/partial_rotary_factor 0.5/);
    expect(computeRopeParameters({ ...kananaConfig(500000), partial_rotary_factor: 1 }).invFreq.length).toBe(64);
  });

  it('refuses unknown rope types clearly', () => {
    expect(() => computeRopeParameters(kananaConfig(500000, { type: 'dynamic', factor: 2 }))).toThrow(/Unsupported rope_scaling type "dynamic"/);
  });
});

/**
 * A second YaRN formulation in float64, written from the paper's definitions rather than from
 * transformers' code: pair i turns L / λᵢ times over the original window L, with wavelength
 * λᵢ = 2π·θ^(2i/d). The ramp γ runs over the dimension index from where L/λ = β_fast (floored) to
 * where L/λ = β_slow (ceiled), and the frequency is θ^(−2i/d)·(1 − γ + γ/s): extrapolated below
 * the ramp, divided by s above it.
 */
function yarnFloat64(theta: number, d: number, s: number, L: number, betaFast: number, betaSlow: number): number[] {
  const dimensionTurning = (turns: number) => (d / 2) * (Math.log(L / (2 * Math.PI * turns)) / Math.log(theta));
  const low = Math.max(0, Math.floor(dimensionTurning(betaFast)));
  const high = Math.min(d - 1, Math.ceil(dimensionTurning(betaSlow)));
  return Array.from({ length: d / 2 }, (_, i) => {
    const gamma = Math.min(1, Math.max(0, (i - low) / (high - low)));
    return Math.pow(theta, (-2 * i) / d) * (1 - gamma + gamma / s);
  });
}

describe("Kanana's recipe (factor 4.4 over 32768, beta 64/2, head_dim 128) against independent values", () => {
  // Every element within a few float32 ulps of the float64 formulation.
  for (const theta of [500000, 1e6]) {
    it(`matches a float64 formulation of YaRN for rope_theta ${theta}`, () => {
      const { invFreq, attentionFactor } = computeYarnInvFreq(kananaConfig(theta, recipe));
      const expected = yarnFloat64(theta, 128, 4.4, 32768, 64, 2);
      for (let i = 0; i < 64; i++) expect(Math.abs(invFreq[i] - expected[i]) / expected[i]).toBeLessThan(5e-7);
      expect(attentionFactor).toBeCloseTo(1 + 0.1 * Math.log(4.4), 14);
    });
  }

  it('has the hand-derived values (Python float64, from the closed forms in the comments)', () => {
    const close = (got: number, want: number) => expect(Math.abs(got - want) / want).toBeLessThan(5e-7);
    // theta 500000: ramp over dims 21..39 (unrounded 21.46…, 38.36…).
    const a = computeYarnInvFreq(kananaConfig(500000, recipe)).invFreq;
    expect(a[0]).toBe(1);
    close(a[21], 0.013490419890226748); // 500000^(-42/128), still extrapolated
    close(a[30], 0.0013077324431050696); // ramp 1/2: 500000^(-60/128)·(1/2 + 1/(2·4.4))
    close(a[39], 7.651339579500955e-5); // 500000^(-78/128) / 4.4
    close(a[63], 5.579865434390019e-7); // 500000^(-126/128) / 4.4
    // theta 1e6: ramp over dims 20..37 (unrounded 20.38…, 36.44…).
    const b = computeYarnInvFreq(kananaConfig(1e6, recipe)).invFreq;
    close(b[20], 0.01333521432163324); // 10^(-6·40/128)
    close(b[24], 0.004600974478830129); // ramp 4/17: 10^(-6·48/128)·(13/17 + 4/(17·4.4))
    close(b[37], 7.723200747596726e-5); // 10^(-6·74/128) / 4.4
    close(b[63], 2.8203130926175444e-7); // 10^(-6·126/128) / 4.4
    // 1 + 0.1·ln 4.4; also with max_position_embeddings left at 32768 (transformers 4.4x–4.5x
    // replaced the factor by max/original = 1 there, which disabled YaRN altogether).
    expect(computeYarnInvFreq(kananaConfig(1e6, recipe)).attentionFactor).toBeCloseTo(1.1481604540924215, 14);
  });
});

describe('linear and llama3 scaling', () => {
  it('linear divides every frequency by the factor', () => {
    const linear = computeRopeParameters(kananaConfig(500000, { type: 'linear', factor: 2 }));
    const plain = computeDefaultInvFreq(500000, 128);
    for (let i = 0; i < 64; i++) expect(linear.invFreq[i]).toBeCloseTo(plain[i] / 2, 12);
    expect(linear.attentionFactor).toBe(1);
  });

  it('llama3 keeps short wavelengths, divides long ones, blends between (Llama-3.2-1B values)', () => {
    const config: HfLlamaConfig = {
      ...kananaConfig(500000, { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 }),
      head_dim: 64,
    };
    const { invFreq } = computeRopeParameters(config);
    let kept = 0;
    let divided = 0;
    let blended = 0;
    for (let i = 0; i < 32; i++) {
      const plain = Math.pow(500000, -(2 * i) / 64);
      const wavelength = (2 * Math.PI) / plain;
      if (wavelength < 8192 / 4) {
        kept++;
        expect(invFreq[i] / plain).toBeCloseTo(1, 6);
      } else if (wavelength > 8192) {
        divided++;
        expect(invFreq[i] / (plain / 32)).toBeCloseTo(1, 6);
      } else {
        blended++;
        const smooth = (8192 / wavelength - 1) / 3; // 0 at the long end, 1 at the short end
        expect(invFreq[i] / (plain / 32 + smooth * (plain - plain / 32))).toBeCloseTo(1, 6);
      }
    }
    expect([kept > 0, divided > 0, blended > 0]).toEqual([true, true, true]);
  });
});

describe('patchConfigForContext', () => {
  it('leaves native lengths alone and extends with YaRN beyond them', () => {
    const config = kananaConfig(500000);
    expect(patchConfigForContext(config, 8192)).toBe(config);
    expect(patchConfigForContext(config, 32768)).toBe(config);
    const patched = patchConfigForContext(config, 131072);
    expect(patched.max_position_embeddings).toBe(131072);
    expect(patched.rope_scaling).toEqual({ type: 'yarn', factor: 4, original_max_position_embeddings: 32768, beta_fast: 64, beta_slow: 2 });
    expect(config.rope_scaling).toBeNull();
    expect(config.max_position_embeddings).toBe(32768);
    // The patched config computes: high frequencies untouched, lowest divided by 4.
    const { invFreq } = computeRopeParameters(patched);
    const plain = computeDefaultInvFreq(500000, 128);
    expect(invFreq[0]).toBe(plain[0]);
    expect(invFreq[63] / (plain[63] / 4)).toBeCloseTo(1, 6);
  });

  it('takes another recipe, and re-scales a checkpoint that already uses YaRN from its original window', () => {
    const custom = patchConfigForContext(kananaConfig(500000), 65536, { beta_fast: 32, beta_slow: 1, mscale: 1, mscale_all_dim: 1 });
    expect(custom.rope_scaling).toEqual({
      type: 'yarn',
      factor: 2,
      original_max_position_embeddings: 32768,
      beta_fast: 32,
      beta_slow: 1,
      mscale: 1,
      mscale_all_dim: 1,
    });
    const shipped = { ...kananaConfig(500000, recipe), max_position_embeddings: 144179 };
    const longer = patchConfigForContext(shipped, 32768 * 8);
    expect(longer.rope_scaling).toEqual({ type: 'yarn', factor: 8, original_max_position_embeddings: 32768, beta_fast: 64, beta_slow: 2 });
    expect(patchConfigForContext(shipped, 100000)).toBe(shipped);
  });

  it('keeps a v5 config in rope_parameters, theta included', () => {
    const v5: HfLlamaConfig = { ...kananaConfig(1e6), rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 1e6 } };
    const patched = patchConfigForContext(v5, 65536);
    expect(patched.rope_parameters).toEqual({
      rope_type: 'yarn',
      rope_theta: 1e6,
      factor: 2,
      original_max_position_embeddings: 32768,
      beta_fast: 64,
      beta_slow: 2,
    });
    expect(patched.rope_scaling).toBeUndefined();
    const expected = patchConfigForContext(kananaConfig(1e6), 65536);
    expect(Array.from(computeRopeParameters(patched).invFreq)).toEqual(Array.from(computeRopeParameters(expected).invFreq));
  });

  it('refuses to stack YaRN on another rope type', () => {
    const llama3 = kananaConfig(500000, { rope_type: 'llama3', factor: 8, original_max_position_embeddings: 8192 });
    expect(() => patchConfigForContext(llama3, 65536)).toThrow(/llama3/);
  });
});

describe('llama3 scaling in detail', () => {
  const tiny = FIXTURES['tiny-llama3'].config;

  it("the tiny-llama3 fixture's 16 frequencies: 2 kept exactly, 1 blended, 13 divided by 32 exactly", () => {
    const plain = computeDefaultInvFreq(500000, 32);
    const { invFreq, attentionFactor } = computeRopeParameters(tiny);
    expect(attentionFactor).toBe(1);
    expect([invFreq[0], invFreq[1]]).toEqual([plain[0], plain[1]]);
    for (let i = 3; i < 16; i++) expect(invFreq[i]).toBe(Math.fround(plain[i] / 32));
    // i = 2: wavelength 2π·500000^(2/16) ≈ 32.40, between 64/4 and 64/1: smooth = (64/32.40 − 1) / 3 ≈ 0.3251.
    const wavelength = (2 * Math.PI) / plain[2];
    const smooth = (64 / wavelength - 1) / 3;
    expect(smooth).toBeCloseTo(0.3251, 4);
    expect(invFreq[2] / ((1 - smooth) * (plain[2] / 32) + smooth * plain[2])).toBeCloseTo(1, 6);
  });

  it("llama.cpp's rope_freqs divisors give the same frequencies (1, the blend, the factor)", () => {
    const scaling = tiny.rope_scaling!;
    const factors = llama3RopeFreqFactors(tiny, scaling);
    const plain = computeDefaultInvFreq(500000, 32);
    const { invFreq } = computeRopeParameters(tiny);
    expect([factors[0], factors[1], factors[15]]).toEqual([1, 1, 32]);
    expect(factors[2]).toBeGreaterThan(1);
    expect(factors[2]).toBeLessThan(32);
    for (let i = 0; i < 16; i++) expect(plain[i] / factors[i] / invFreq[i]).toBeCloseTo(1, 6);
  });

  it('refuses llama3 knobs transformers would reject, saying which', () => {
    const withScaling = (scaling: Record<string, unknown>) => ({ ...tiny, rope_scaling: { rope_type: 'llama3', ...scaling } });
    expect(() => computeRopeParameters(withScaling({ low_freq_factor: 1, high_freq_factor: 4 }))).toThrow(/Invalid llama3 rope_scaling.*factor undefined/);
    expect(() => computeRopeParameters(withScaling({ factor: 8, low_freq_factor: 4, high_freq_factor: 4 }))).toThrow(/low_freq_factor < high_freq_factor/);
  });

  it('Llama 3.2 serves its whole 131,072-token window natively and is never stretched with YaRN', () => {
    expect(extendsWithYarn(LLAMA32_3B_CONFIG)).toBe(false);
    expect(extendsWithYarn(KANANA_NANO_CONFIG)).toBe(true);
    expect(() => patchConfigForContext(LLAMA32_3B_CONFIG, 262144)).toThrow(/llama3/);
    expect(patchConfigForContext(LLAMA32_3B_CONFIG, 131072)).toBe(LLAMA32_3B_CONFIG);
  });
});
