/**
 * `npm test`: every check the project has, in order, stopping at the first failure:
 * fixtures (generated when missing) → typecheck → lint → Vitest → Playwright e2e in Chromium.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

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

if (!existsSync(CHROMIUM)) {
  console.error(
    `Chromium was not found at ${CHROMIUM}. Install Debian's build with:\n  apt-get update && apt-get install -y chromium\n(or set CHROMIUM_PATH).`,
  );
  process.exit(1);
}

run('fixtures', 'npx', ['tsx', 'tools/fixtures.ts']);
run('typecheck', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
run('lint', 'npx', ['eslint', '.', '--max-warnings', '0']);
run('unit tests', 'npx', ['vitest', 'run']);
run('e2e tests', 'npx', ['playwright', 'test']);
