import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { createRng } from './rng.ts';
import { legacySha256State } from '../testing/legacy-sha256.ts';
import { ResumableSha256, Sha256StateError, type Sha256State } from '../lib/resumable-sha256.ts';

const data = (() => {
  const rng = createRng(7);
  return Uint8Array.from({ length: 1000 }, () => Math.floor(rng.uniform() * 256));
})();

describe('ResumableSha256', () => {
  it('hashes like sha256 when stopped, serialised through JSON and restored at any split', async () => {
    const expected = bytesToHex(sha256(data));
    for (const split of [0, 1, 63, 64, 65, 127, 128, 500, 999, 1000]) {
      const first = await ResumableSha256.create();
      first.update(data.subarray(0, split));
      const saved = JSON.parse(JSON.stringify(first.exportState())) as Sha256State;
      // A new hasher (its own WebAssembly instance), as after a reload.
      const resumed = await ResumableSha256.create(saved);
      expect(resumed.length).toBe(split);
      // Feed the rest in uneven pieces, as the converter's blocks arrive.
      for (let at = split; at < data.length; at += 37) resumed.update(data.subarray(at, Math.min(data.length, at + 37)));
      expect(bytesToHex(resumed.digest()), `split at ${split}`).toBe(expected);
    }
  });

  it('digest() leaves the hash usable: it goes on, and its saved state still resumes', async () => {
    const hash = (await ResumableSha256.create()).update(data.subarray(0, 300));
    expect(bytesToHex(hash.digest())).toBe(bytesToHex(sha256(data.subarray(0, 300))));
    const saved = hash.exportState();
    hash.update(data.subarray(300));
    expect(bytesToHex(hash.digest())).toBe(bytesToHex(sha256(data)));
    expect(bytesToHex((await ResumableSha256.create(saved)).update(data.subarray(300)).digest())).toBe(bytesToHex(sha256(data)));
  });

  it('refuses a malformed state', async () => {
    const state = (await ResumableSha256.create()).update(data.subarray(0, 70)).exportState();
    for (const bad of [
      { ...state, format: 'noble' },
      { ...state, length: -1 },
      { ...state, state: state.state.slice(0, -1) },
      { ...state, state: 'zz' },
      { ...state, pending: '' },
    ]) {
      await expect(ResumableSha256.create(bad as Sha256State), JSON.stringify(bad).slice(0, 60)).rejects.toThrow(Sha256StateError);
      expect(() => ResumableSha256.check(bad)).toThrow(Sha256StateError);
    }
    // Well-formed but cut short: hash-wasm itself refuses it.
    await expect(ResumableSha256.create({ ...state, state: state.state.slice(0, -2) })).rejects.toThrow(Sha256StateError);
  });

  it('refuses a state of the earlier pure-JS format, and one another build of hash-wasm saved', async () => {
    const legacy = legacySha256State(data.subarray(0, 70));
    await expect(ResumableSha256.create(legacy)).rejects.toThrow(/earlier pure-JS format/);
    const state = (await ResumableSha256.create()).update(data.subarray(0, 70)).exportState();
    // The first 4 bytes name the WASM binary that saved it: another one's state is refused, never misread.
    const foreign = { ...state, state: `${(parseInt(state.state.slice(0, 2), 16) ^ 1).toString(16).padStart(2, '0')}${state.state.slice(2)}` };
    ResumableSha256.check(foreign);
    await expect(ResumableSha256.create(foreign)).rejects.toThrow(/incompatible/);
  });
});
