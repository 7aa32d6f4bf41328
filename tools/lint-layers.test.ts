/**
 * The layer rules of eslint.config.js (docs/architecture.md) fail where they should: each fixture
 * is linted as if it stood at a path inside src/, importing real modules, so the rule sees the
 * same resolution as in `npm run lint`.
 */
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: new URL('..', import.meta.url).pathname });
});

async function ruleIdsOf(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result.messages.map((m) => m.ruleId ?? m.message);
}

describe('layer rules', () => {
  it('refuse a feature importing another feature', async () => {
    expect(
      await ruleIdsOf('src/features/chat/fixture.ts', "import { loadSelectedModel } from '../models/model-actions.ts';\nexport const f = loadSelectedModel;\n"),
    ).toContain('import-x/no-restricted-paths');
  });

  it('refuse a feature importing the app shell, or worker internals past the protocol and clients', async () => {
    expect(await ruleIdsOf('src/features/chat/fixture.ts', "import { App } from '../../app/App.tsx';\nexport const f = App;\n")).toContain(
      'import-x/no-restricted-paths',
    );
    expect(await ruleIdsOf('src/features/chat/fixture.ts', "import { LlmEngine } from '../../worker/engine.ts';\nexport const f = LlmEngine;\n")).toContain(
      'import-x/no-restricted-paths',
    );
  });

  it('refuse upward imports into src/model, src/db and src/lib', async () => {
    expect(await ruleIdsOf('src/model/fixture.ts', "import { quantizeQ4 } from '../converter/quantize.ts';\nexport const f = quantizeQ4;\n")).toContain(
      'import-x/no-restricted-paths',
    );
    expect(await ruleIdsOf('src/db/fixture.ts', "import type { LoadSpec } from '../worker/protocol.ts';\nexport type F = LoadSpec;\n")).toContain(
      'import-x/no-restricted-paths',
    );
    expect(await ruleIdsOf('src/lib/fixture.ts', "import { resolveLlamaShape } from '../model/config.ts';\nexport const f = resolveLlamaShape;\n")).toContain(
      'import-x/no-restricted-paths',
    );
  });

  it('refuse app code and tests under src importing tools/ or e2e/', async () => {
    expect(
      await ruleIdsOf('src/worker/fixture.test.ts', "import { listLocalModels } from '../../tools/lib/local-models.ts';\nexport const f = listLocalModels;\n"),
    ).toContain('import-x/no-restricted-paths');
  });

  it('hold tests to the rule of their layer, with src/testing as their support', async () => {
    expect(await ruleIdsOf('src/model/fixture.test.ts', "import { quantizeQ4 } from '../converter/quantize.ts';\nexport const f = quantizeQ4;\n")).toContain(
      'import-x/no-restricted-paths',
    );
    expect(
      await ruleIdsOf(
        'src/model/fixture.test.ts',
        "import { FIXTURES_DIR } from '../testing/fixture-specs.ts';\nimport { toFloat16 } from '../lib/float16.ts';\nexport const f = [FIXTURES_DIR, toFloat16];\n",
      ),
    ).toEqual([]);
  });

  it('refuse a cycle', async () => {
    // kv-memory.ts imports config.ts: config.ts importing kv-memory.ts closes the loop.
    expect(await ruleIdsOf('src/model/config.ts', "import { kvBytesPerToken } from './kv-memory.ts';\nexport const f = kvBytesPerToken;\n")).toContain(
      'import-x/no-cycle',
    );
  });

  it('allow what the layers allow', async () => {
    expect(
      await ruleIdsOf(
        'src/features/chat/fixture.ts',
        "import { resolveLlamaShape } from '../../model/config.ts';\nimport { useAppStore } from '../../state/store.ts';\nexport const f = [resolveLlamaShape, useAppStore];\n",
      ),
    ).toEqual([]);
    expect(await ruleIdsOf('src/model/fixture.ts', "import { toFloat16 } from '../lib/float16.ts';\nexport const f = toFloat16;\n")).toEqual([]);
  });
});
