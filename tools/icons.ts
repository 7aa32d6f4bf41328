/**
 * `npm run icons`: draws the app icon (a speech bubble holding the jamo ㅎ, for 한마디) as SVG and
 * rasterizes it with Chromium into the PNGs the web manifest and iOS need. The glyph is drawn
 * with shapes, not a font, so the result is the same on any machine. Outputs go to public/ and
 * are committed; rerun after changing the drawing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '@playwright/test';

const PUBLIC = join(import.meta.dirname, '..', 'public');
const ACCENT = '#2a5bd7';
const PAPER = '#ffffff';

/** The mark on a 512×512 canvas: bubble with a tail, and ㅎ (short bar, long bar, ring). */
const MARK = `
  <path fill="${PAPER}" d="M168 104H344A64 64 0 0 1 408 168V296A64 64 0 0 1 344 360H238L160 420L174 360H168A64 64 0 0 1 104 296V168A64 64 0 0 1 168 104Z"/>
  <rect fill="${ACCENT}" x="228" y="140" width="56" height="20" rx="10"/>
  <rect fill="${ACCENT}" x="186" y="176" width="140" height="22" rx="11"/>
  <circle fill="none" stroke="${ACCENT}" stroke-width="22" cx="256" cy="266" r="46"/>`;

/**
 * `rounded`: a rounded tile with transparent corners (purpose "any", favicon). Otherwise the
 * background fills the canvas and the mark shrinks by `scale` around the centre: a maskable icon
 * keeps everything inside the safe zone (a circle of radius 40% of the size), and iOS rounds
 * apple-touch-icons itself.
 */
function iconSvg(size: number, options: { rounded: boolean; scale?: number }): string {
  const scale = options.scale ?? 1;
  const background = options.rounded ? `<rect width="512" height="512" rx="112" fill="${ACCENT}"/>` : `<rect width="512" height="512" fill="${ACCENT}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 512 512">${background}<g transform="translate(256 256) scale(${scale}) translate(-256 -256)">${MARK}</g></svg>`;
}

const PNGS: { file: string; size: number; rounded: boolean; scale?: number }[] = [
  { file: 'pwa-192x192.png', size: 192, rounded: true },
  { file: 'pwa-512x512.png', size: 512, rounded: true },
  { file: 'maskable-icon-512x512.png', size: 512, rounded: false, scale: 0.8 },
  { file: 'apple-touch-icon-180x180.png', size: 180, rounded: false, scale: 0.9 },
];

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ deviceScaleFactor: 1 });
  for (const { file, size, rounded, scale } of PNGS) {
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(`<!doctype html><body style="margin:0">${iconSvg(size, { rounded, scale })}</body>`);
    writeFileSync(join(PUBLIC, file), await page.locator('svg').screenshot({ omitBackground: true, type: 'png' }));
    console.log(`public/${file} (${size}×${size})`);
  }
  writeFileSync(join(PUBLIC, 'favicon.svg'), `${iconSvg(512, { rounded: true }).replace(' width="512" height="512"', '')}\n`);
  console.log('public/favicon.svg');
} finally {
  await browser.close();
}
