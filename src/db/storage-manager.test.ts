import { describe, expect, it } from 'vitest';
import { availableBytes } from './storage-manager.ts';

describe('availableBytes', () => {
  it('is quota minus usage when the browser reports a real quota', () => {
    expect(availableBytes({ usage: 5_000, quota: 20_000 })).toBe(15_000);
    expect(availableBytes({ usage: 30_000, quota: 20_000 })).toBe(0);
  });

  it("is unknown for Chromium's static quota (usage + 10 GiB, measured in Chromium 156) or a missing estimate", () => {
    expect(availableBytes({ usage: 73_728, quota: 10_737_491_968 })).toBeNull();
    expect(availableBytes({ usage: 375, quota: 10_737_418_615 })).toBeNull();
    expect(availableBytes(null)).toBeNull();
    expect(availableBytes({ usage: 1 })).toBeNull();
  });
});
