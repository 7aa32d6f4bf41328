import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import globals from 'globals';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/**
 * The layers of docs/architecture.md, lowest first. A layer imports only from itself and the
 * layers listed as its `uses`; nothing imports upward. `src/app` (the shell) may import every
 * layer. `src/testing` is test and CLI support (fixtures, the mock Hub, Node I/O): only tests,
 * tools and e2e import it.
 */
const LAYERS = {
  lib: [],
  model: ['lib'],
  converter: ['model', 'lib'],
  db: ['converter', 'model', 'lib'],
  i18n: ['lib'],
  worker: ['db', 'converter', 'model', 'lib'],
  pwa: ['model', 'lib'],
  state: ['worker', 'db', 'model', 'lib'],
  features: ['state', 'worker', 'db', 'model', 'lib', 'i18n', 'pwa'],
  bench: ['worker', 'db', 'converter', 'model', 'lib'],
};
const FEATURES = readdirSync(new URL('./src/features', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
/** What a feature may take from the worker layer: the protocol's types and the main-thread clients. */
const WORKER_FACADE = ['./protocol.ts', './engine-client.ts', './store-client.ts', './conversation-import-client.ts', './rpc-client.ts'];

const layerZones = [
  ...Object.entries(LAYERS).map(([layer, uses]) => ({
    target: `./src/${layer}`,
    from: './src',
    except: [`./${layer}`, ...uses.map((name) => `./${name}`)],
    message: `src/${layer} may import only from ${['itself', ...uses.map((name) => `src/${name}`)].join(', ')} (docs/architecture.md).`,
  })),
  ...FEATURES.map((feature) => ({
    target: `./src/features/${feature}`,
    from: './src/features',
    except: [`./${feature}`],
    message: 'A feature never imports another feature: move what both need to a shared layer, or compose them in src/app.',
  })),
  { target: './src/app', from: './src/testing', message: 'src/testing is test support.' },
  {
    target: './src/features',
    from: './src/worker',
    except: WORKER_FACADE,
    message: 'Features talk to the workers through the protocol and the clients only.',
  },
];

/**
 * Tests follow the rule of the layer they test, and may also use src/testing (fixtures, the mock
 * Hub, seeded weights); a test that needs a higher layer's code lives in that layer.
 */
const testLayerZones = layerZones
  .map((zone) => (zone.from === './src' ? { ...zone, except: [...zone.except, './testing'] } : zone))
  .filter((zone) => zone.target !== './src/app' || zone.from !== './src/testing');

const testSupportZones = [
  {
    target: './src',
    from: ['./tools', './e2e'],
    message: 'Code under src/ (tests included) never imports tools/ or e2e/: move shared support to src/testing.',
  },
];

export default tseslint.config(
  { ignores: ['dist', 'dist-bench', '.exp', 'fixtures', 'node_modules', 'test-results', 'playwright-report', 'bench/results', '.gpu-stage'] },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      globals: { ...globals.browser, ...globals.worker, ...globals.node },
    },
    plugins: { 'react-hooks': reactHooks, 'import-x': importX },
    settings: {
      // The TypeScript preset's parsers and extensions: no-cycle must parse the modules it walks.
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    ignores: ['src/**/*.test.{ts,tsx}', 'src/testing/**'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: [...layerZones, ...testSupportZones] }] },
  },
  {
    files: ['src/**/*.test.{ts,tsx}'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: [...testLayerZones, ...testSupportZones] }] },
  },
  {
    // Test and CLI support builds inputs with any layer, but never with tools/.
    files: ['src/testing/**'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: testSupportZones }] },
  },
);
