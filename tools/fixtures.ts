/**
 * `npm run fixtures`: writes the seeded synthetic checkpoints to fixtures/checkpoints/<name>/
 * and converts them into fixtures/models/<name>/ (both git-ignored).
 *
 *   npx tsx tools/fixtures.ts                              tiny-llama, tiny-llama-yarn, tiny-llama-ctx64
 *   npx tsx tools/fixtures.ts --only kanana-2.1b-shape     the 2.1B-shape benchmark model (opt-in)
 *   --force        regenerate even when up to date
 *   --dtypes a,b   convert only these dtypes (default: all four; fp32,q4 for tiny-llama-ctx64; q4f16,q4 for kanana-2.1b-shape)
 *
 * A fixture is up to date when its stamp (sha256 of generator version, spec and dtypes, written
 * last) matches and every file of its manifest is present with its size. Output is deterministic:
 * the same bytes on every run.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { convertCheckpoint, MANIFEST_FILE, SUPPORTED_DTYPES, type ConvertDtype } from '../src/converter/convert.ts';
import { writeSyntheticCheckpoint, type CheckpointSpec } from './lib/checkpoint.ts';
import { CTX64_DTYPES, CTX64_FIXTURE, CTX64_SPEC, FIXTURES } from './lib/fixture-specs.ts';
import { directoryReader, directoryWriter } from './lib/node-io.ts';
import { KANANA_SHAPE_DTYPES, KANANA_SHAPE_FIXTURE, KANANA_SHAPE_SPEC } from './fixtures/kanana.ts';

/** Bump when the generator or converter output changes, so stale fixtures are rebuilt (3: tied head stored after the table; 4: GroupQueryAttention). */
const GENERATOR_VERSION = 4;
const STAMP_FILE = '.stamp';

interface FixtureEntry {
  spec: CheckpointSpec;
  dtypes: readonly ConvertDtype[];
  /** Built only with --only <name>. */
  optIn: boolean;
}

const ALL_FIXTURES: Record<string, FixtureEntry> = {
  ...Object.fromEntries(Object.entries(FIXTURES).map(([name, spec]) => [name, { spec, dtypes: SUPPORTED_DTYPES, optIn: false }])),
  [CTX64_FIXTURE]: { spec: CTX64_SPEC, dtypes: CTX64_DTYPES, optIn: false },
  [KANANA_SHAPE_FIXTURE]: { spec: KANANA_SHAPE_SPEC, dtypes: KANANA_SHAPE_DTYPES, optIn: true },
};

function parseDtypes(list: string | undefined): ConvertDtype[] | undefined {
  if (list === undefined) return undefined;
  const dtypes = list.split(',').map((d) => d.trim()) as ConvertDtype[];
  const bad = dtypes.filter((d) => !SUPPORTED_DTYPES.includes(d));
  if (bad.length) throw new Error(`Unknown dtype(s) ${bad.join(', ')} (supported: ${SUPPORTED_DTYPES.join(', ')}).`);
  return dtypes;
}

function stampOf(spec: CheckpointSpec, dtypes: readonly ConvertDtype[]): string {
  return bytesToHex(sha256(new TextEncoder().encode(JSON.stringify({ GENERATOR_VERSION, spec, dtypes })))) + '\n';
}

/** The stamp matches and every manifest file is there with its recorded size. */
function isComplete(modelDir: string, stamp: string): boolean {
  const stampFile = join(modelDir, STAMP_FILE);
  const manifestFile = join(modelDir, MANIFEST_FILE);
  if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp || !existsSync(manifestFile)) return false;
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { files: { path: string; size: number }[] };
  return manifest.files.every((f) => existsSync(join(modelDir, f.path)) && statSync(join(modelDir, f.path)).size === f.size);
}

const { values } = parseArgs({ options: { force: { type: 'boolean' }, only: { type: 'string' }, dtypes: { type: 'string' } } });
if (values.only && !ALL_FIXTURES[values.only]) {
  console.error(`Unknown fixture "${values.only}" (known: ${Object.keys(ALL_FIXTURES).join(', ')}).`);
  process.exit(1);
}
const dtypeOverride = parseDtypes(values.dtypes);
const root = join(import.meta.dirname, '..', 'fixtures');

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
