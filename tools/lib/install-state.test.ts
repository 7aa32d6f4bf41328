import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INSTALLED_RECORD, LOCKFILE, installStaleReason, type PackageLock } from './install-state.mjs';

const LOCK: PackageLock = {
  packages: {
    '': {},
    'node_modules/dexie': { version: '4.4.7', integrity: 'sha512-dexie' },
    'node_modules/fsevents': { version: '2.3.3', integrity: 'sha512-fsevents', optional: true },
  },
};
const INSTALLED: PackageLock = { packages: { 'node_modules/dexie': { version: '4.4.7', integrity: 'sha512-dexie' } } };

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A project folder with this lockfile and, unless null, npm's record of an install; `lockfileAge` orders their dates. */
function project(lock: PackageLock, installed: PackageLock | null, lockfileAge: 'older' | 'newer'): string {
  const root = mkdtempSync(join(tmpdir(), 'hanmadi-install-'));
  roots.push(root);
  writeFileSync(join(root, LOCKFILE), JSON.stringify(lock));
  if (installed) {
    mkdirSync(join(root, 'node_modules'));
    writeFileSync(join(root, INSTALLED_RECORD), JSON.stringify(installed));
    const [lockTime, recordTime] = lockfileAge === 'newer' ? [2_000, 1_000] : [1_000, 2_000];
    utimesSync(join(root, LOCKFILE), lockTime, lockTime);
    utimesSync(join(root, INSTALLED_RECORD), recordTime, recordTime);
  }
  return root;
}

describe('is node_modules current (tools/setup.mjs runs npm ci when not)', () => {
  it('missing: never installed', () => {
    expect(installStaleReason(project(LOCK, null, 'newer'))).toBe('node_modules is missing');
  });

  it('older than a lockfile that asks for another version: reinstall, naming the package', () => {
    const lock = { packages: { ...LOCK.packages, 'node_modules/dexie': { version: '4.5.0', integrity: 'sha512-new' } } };
    expect(installStaleReason(project(lock, INSTALLED, 'newer'))).toBe('node_modules/dexie is 4.4.7, the lockfile wants 4.5.0');
  });

  it('older than a lockfile that adds or drops a package: reinstall', () => {
    const added = { packages: { ...LOCK.packages, 'node_modules/zustand': { version: '5.1.0', integrity: 'sha512-z' } } };
    expect(installStaleReason(project(added, INSTALLED, 'newer'))).toBe('node_modules/zustand is not installed');
    const dropped = { packages: { '': {} } };
    expect(installStaleReason(project(dropped, INSTALLED, 'newer'))).toBe('node_modules/dexie is no longer in the lockfile');
  });

  it('current: installed after the lockfile, or older only by date with the same contents (a fresh checkout)', () => {
    expect(installStaleReason(project(LOCK, INSTALLED, 'older'))).toBeNull();
    // The optional package npm left out for this platform is not a difference.
    expect(installStaleReason(project(LOCK, INSTALLED, 'newer'))).toBeNull();
  });
});
