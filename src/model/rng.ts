/**
 * A small seeded PRNG (mulberry32) with normal samples. The uniforms are pure 32-bit integer
 * arithmetic, identical everywhere. Box–Muller adds Math.log and Math.cos, which ECMAScript leaves
 * implementation-approximated; V8 (Node and Chromium) computes them with its fdlibm port, so the
 * values are identical on every OS and CPU we run on. Fixtures store bf16/fp16, which hides
 * last-bit differences in almost every element anyway.
 */
export function createRng(seed: number): { uniform(): number; normal(): number } {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  // Box–Muller; 1 − u keeps the logarithm finite.
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}
