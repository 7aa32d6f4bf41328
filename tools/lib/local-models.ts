/**
 * The locally generated test models (fixtures/models/<name>/) as catalog entries, so `npm start`
 * and the e2e tests offer them beside the real catalog. Sizes come from each model's manifest,
 * dimensions (for the fit verdict) from its config.json.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CatalogEntry } from '../../src/model/catalog.ts';
import { MANIFEST_FILE, type ManifestFile } from '../../src/converter/convert.ts';
import { dtypesFromFiles } from '../../src/model/model-files.ts';
import { resolveLlamaShape } from '../../src/model/config.ts';
import { sizingOfShape } from '../../src/model/device-fit.ts';
import { FIXTURE_MODELS_DIR } from '../../src/testing/fixture-specs.ts';

function formatParams(config: Record<string, number>): string {
  const { hidden_size: d, intermediate_size: ff, num_hidden_layers: layers, vocab_size: vocab } = config;
  const heads = config.num_attention_heads;
  const kvHeads = config.num_key_value_heads ?? heads;
  const headDim = config.head_dim ?? d / heads;
  const perLayer = d * headDim * (2 * heads + 2 * kvHeads) + 3 * d * ff;
  const total = layers * perLayer + vocab * d * (config.tie_word_embeddings === 0 ? 2 : 1);
  return total >= 1e9 ? `${(total / 1e9).toFixed(1)}B` : `${Math.round(total / 1e6)}M`;
}

/** `name` → label: tiny-llama-yarn → "Tiny Llama Yarn". */
function labelOf(name: string): string {
  return `${name
    .split('-')
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join(' ')}`;
}

export function listLocalModels(dir = FIXTURE_MODELS_DIR, baseUrl = 'models/local/'): CatalogEntry[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, MANIFEST_FILE)))
    .map((d) => {
      const modelDir = join(dir, d.name);
      const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
      const { files } = JSON.parse(readFileSync(join(modelDir, MANIFEST_FILE), 'utf8')) as { files: ManifestFile[] };
      const dtypes = dtypesFromFiles(files);
      return {
        id: `local:${d.name}`,
        label: labelOf(d.name),
        params: formatParams({ ...config, tie_word_embeddings: config.tie_word_embeddings === false ? 0 : 1 }),
        languages: ['ko', 'en'],
        license: 'test fixture',
        nativeContext: config.max_position_embeddings,
        dtypes,
        sizing: sizingOfShape(resolveLlamaShape(config)),
        source: { kind: 'url', baseUrl: `${baseUrl}${d.name}/` },
        test: true,
      } satisfies CatalogEntry;
    });
}
