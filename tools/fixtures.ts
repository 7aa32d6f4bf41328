/**
 * `npm run fixtures`: writes the seeded synthetic checkpoints to fixtures/checkpoints/<name>/
 * and converts them into fixtures/models/<name>/ (both git-ignored). Skips a fixture whose
 * stamp matches (generator inputs unchanged); `--force` regenerates.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpoint, SUPPORTED_DTYPES } from '../src/converter/convert.ts';
import { writeSyntheticCheckpoint } from './lib/checkpoint.ts';
import { FIXTURES } from './lib/fixture-specs.ts';
import { directoryReader, directoryWriter } from './lib/node-io.ts';

/** Bump when the generator or converter output changes, so stale fixtures are rebuilt. */
const GENERATOR_VERSION = 2;

const { values } = parseArgs({ options: { force: { type: 'boolean' }, only: { type: 'string' } } });
const root = join(import.meta.dirname, '..', 'fixtures');

for (const [name, spec] of Object.entries(FIXTURES)) {
  if (values.only && values.only !== name) continue;
  const checkpointDir = join(root, 'checkpoints', name);
  const modelDir = join(root, 'models', name);
  const stampFile = join(modelDir, '.stamp');
  const stamp = JSON.stringify({ GENERATOR_VERSION, spec, dtypes: SUPPORTED_DTYPES });
  if (!values.force && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
    console.log(`fixture ${name}: up to date`);
    continue;
  }
  const started = Date.now();
  rmSync(checkpointDir, { recursive: true, force: true });
  rmSync(modelDir, { recursive: true, force: true });
  writeSyntheticCheckpoint(checkpointDir, spec);
  await convertCheckpoint(directoryReader(checkpointDir), directoryWriter(modelDir), { dtypes: [...SUPPORTED_DTYPES] });
  writeFileSync(stampFile, stamp);
  console.log(`fixture ${name}: written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
