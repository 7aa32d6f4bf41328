/**
 * Whether node_modules matches package-lock.json: the decision behind `npm ci` in tools/setup.mjs.
 * Plain JavaScript on Node's standard library alone, because it runs before anything is installed.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** npm's own record of what it installed, beside the packages. */
export const INSTALLED_RECORD = 'node_modules/.package-lock.json';
export const LOCKFILE = 'package-lock.json';

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Why node_modules needs `npm ci`, or null when it matches the lockfile.
 * - `installed` is npm's record (null: node_modules is missing or was never installed by npm).
 * - Only a lockfile newer than that record is compared package by package, so a checkout that
 *   touched the lockfile's date without changing it reinstalls nothing. Packages npm left out
 *   (optional ones for other platforms) are not a difference.
 */
export function staleReason(lockfile, installed, lockfileNewer) {
  if (!installed?.packages) return 'node_modules is missing';
  if (!lockfileNewer) return null;
  const wanted = lockfile?.packages ?? {};
  for (const [path, entry] of Object.entries(wanted)) {
    if (path === '') continue;
    const have = installed.packages[path];
    if (!have) {
      if (entry.optional || entry.devOptional) continue;
      return `${path} is not installed`;
    }
    if (have.version !== entry.version || have.integrity !== entry.integrity) return `${path} is ${have.version}, the lockfile wants ${entry.version}`;
  }
  for (const path of Object.keys(installed.packages)) if (!(path in wanted)) return `${path} is no longer in the lockfile`;
  return null;
}

/** staleReason for the project in `root`, read from its files. */
export function installStaleReason(root = '.') {
  const record = join(root, INSTALLED_RECORD);
  const lockfile = join(root, LOCKFILE);
  const installed = readJson(record);
  const lockfileNewer = installed !== null && statSync(lockfile).mtimeMs > statSync(record).mtimeMs;
  return staleReason(readJson(lockfile), installed, lockfileNewer);
}
