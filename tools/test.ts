/**
 * `npm test`: every check the project has, in order, stopping at the first failure:
 * fixtures (generated when missing) → typecheck → lint (ESLint) → format (Prettier) → Vitest → Playwright e2e
 * in Chromium.
 * Stages whose entry point does not exist yet (fixtures tool, e2e specs) say so and are skipped.
 * `npm test` runs it through tools/setup.mjs, which first installs the dependencies and Chromium;
 * `npm run test:quick` passes --quick: every stage but the e2e tests, the check to run while working.
 * The e2e stage ends with its ten slowest tests (e2e/support/slowest-reporter.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

function run(label: string, command: string, args: string[]): void {
  console.log(`\n▶ ${label}: ${command} ${args.join(' ')}`);
  const started = Date.now();
  const result = spawnSync(command, args, { stdio: 'inherit', env: process.env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(`✖ ${label} failed after ${seconds}s`);
    process.exit(result.status ?? 1);
  }
  console.log(`✔ ${label} (${seconds}s)`);
}

if (existsSync('tools/fixtures.ts')) run('fixtures', 'npx', ['tsx', 'tools/fixtures.ts']);
else console.log('\n(no fixtures tool yet: skipped)');
run('typecheck', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
run('lint', 'npx', ['eslint', '.', '--max-warnings', '0']);
run('format', 'npx', ['prettier', '--check', '.']);
run('unit tests', 'npx', ['vitest', 'run']);
const quick = process.argv.includes('--quick');
const hasE2e = !quick && existsSync('e2e') && readdirSync('e2e').some((name) => name.endsWith('.spec.ts'));
if (hasE2e) run('e2e tests', 'npx', ['playwright', 'test']);
else console.log(quick ? '\n(--quick: e2e tests skipped; `npm test` runs them)' : '\n(no e2e specs yet: skipped)');
