/**
 * `npm run fixtures`: writes the seeded synthetic checkpoints to fixtures/checkpoints/<name>/
 * and converts them into fixtures/models/<name>/ (both git-ignored).
 *
 *   npx tsx tools/fixtures.ts                              tiny-llama, tiny-llama-yarn, tiny-llama3, tiny-llama-ctx64
 *   npx tsx tools/fixtures.ts --only kanana-2.1b-shape     the 2.1B-shape benchmark model (opt-in)
 *   npx tsx tools/fixtures.ts --only llama-3.2-3b-shape    the 3B-shape one (Llama 3.2, llama3 RoPE; opt-in, 6.4 GB checkpoint)
 *   --force        regenerate even when up to date
 *   --dtypes a,b   convert only these dtypes (default: all five; fp32,q4,q8 for tiny-llama-ctx64; q4f16,q4 for the shape models)
 *   HANMADI_FIXTURES=<dir>   write there instead of fixtures/ (src/testing/fixture-specs.ts FIXTURES_DIR)
 *
 * A fixture is up to date when its stamp (sha256 of generator version, spec and dtypes, written
 * last) matches and every file of its manifest is present with its size. Output is deterministic:
 * the same bytes on every run.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpoint, SUPPORTED_DTYPES, type ConvertDtype } from '../src/converter/convert.ts';
import { writeSyntheticCheckpoint } from './lib/checkpoint.ts';
import { FIXTURES_DIR } from '../src/testing/fixture-specs.ts';
import { directoryReader, directoryWriter } from '../src/converter/node-io.ts';
import { ALL_FIXTURES } from './fixtures/registry.ts';
import { isComplete, STAMP_FILE, stampOf } from './fixtures/stamp.ts';

function parseDtypes(list: string | undefined): ConvertDtype[] | undefined {
  if (list === undefined) return undefined;
  const dtypes = list.split(',').map((d) => d.trim()) as ConvertDtype[];
  const bad = dtypes.filter((d) => !SUPPORTED_DTYPES.includes(d));
  if (bad.length) throw new Error(`Unknown dtype(s) ${bad.join(', ')} (supported: ${SUPPORTED_DTYPES.join(', ')}).`);
  return dtypes;
}

const { values } = parseArgs({ options: { force: { type: 'boolean' }, only: { type: 'string' }, dtypes: { type: 'string' } } });
if (values.only && !ALL_FIXTURES[values.only]) {
  console.error(`Unknown fixture "${values.only}" (known: ${Object.keys(ALL_FIXTURES).join(', ')}).`);
  process.exit(1);
}
const dtypeOverride = parseDtypes(values.dtypes);
const root = FIXTURES_DIR;

for (const [name, entry] of Object.entries(ALL_FIXTURES)) {
  if (values.only ? values.only !== name : entry.optIn) continue;
  const dtypes = dtypeOverride ?? entry.dtypes;
  const checkpointDir = join(root, 'checkpoints', name);
  const modelDir = join(root, 'models', name);
  const stamp = stampOf(entry.spec, dtypes);
  if (!values.force && isComplete(modelDir, stamp)) {
    console.log(`fixture ${name}: up to date`);
    continue;
  }
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  rmSync(checkpointDir, { recursive: true, force: true });
  rmSync(modelDir, { recursive: true, force: true });
  writeSyntheticCheckpoint(checkpointDir, entry.spec);
  console.log(`fixture ${name}: checkpoint written in ${seconds()} s; converting to ${dtypes.join(', ')}`);
  await convertCheckpoint(directoryReader(checkpointDir), directoryWriter(modelDir), { dtypes: [...dtypes] });
  writeFileSync(join(modelDir, STAMP_FILE), stamp);
  console.log(`fixture ${name}: written in ${seconds()} s`);
}
