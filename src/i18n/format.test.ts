import { describe, expect, it } from 'vitest';
import { formatBytes, formatDateTime, formatNumber, formatShortDate } from './format.ts';

describe('localized formats', () => {
  const march5 = new Date(2024, 2, 5, 15, 4).getTime();

  it('shows a date in each language’s own style', () => {
    expect(formatShortDate(march5, 'ko', new Date(2024, 5, 1).getTime())).toBe('2024. 3. 5.');
    expect(formatShortDate(march5, 'en', new Date(2024, 5, 1).getTime())).toBe('Mar 5, 2024');
  });

  it('shows only the time for today', () => {
    const later = new Date(2024, 2, 5, 20, 0).getTime();
    // (the day-period word depends on the runtime's ICU data: 오후 in browsers)
    expect(formatShortDate(march5, 'ko', later)).toMatch(/^\S+ 3:04$/);
    expect(formatShortDate(march5, 'en', later)).toMatch(/^3:04\sPM$/);
  });

  it('formats full date-times and numbers', () => {
    expect(formatDateTime(march5, 'ko')).toContain('2024년 3월 5일');
    expect(formatNumber(1234567.5, 'ko')).toBe('1,234,567.5');
    expect(formatNumber(0.5, 'en', { style: 'percent' })).toBe('50%');
  });

  it('formats byte counts', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(3 * 1024 * 1024 * 1024)).toBe('3.0 GB');
  });
});
