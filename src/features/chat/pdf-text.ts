/**
 * A PDF's text layer, read with pdf.js in its own worker. Everything pdf.js loads comes from this
 * site: its worker script is bundled by Vite, and the predefined Adobe CMaps it needs for PDFs
 * whose CJK fonts use them (UniKS-UCS2-H and the other Korean ones) are copied next to the app
 * by the build (tools/vite-pdfjs-assets.ts), the Korean ones precached, so reading a Korean PDF
 * works offline, and everything stays within the CSP (worker and fetches from 'self', no eval, no font loading: text only).
 * pdf.js itself is loaded on the first PDF, not with the app.
 */
import pdfWorkerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url';

/** Where the build puts pdf.js's CMaps, relative to the page (tools/vite-pdfjs-assets.ts). */
export const PDFJS_CMAPS_PATH = 'pdfjs/cmaps/';

/** Page texts joined by a blank line; each text item as pdf.js reads it, its line ends kept. */
export async function pdfText(data: Uint8Array): Promise<string> {
  const pdfjs = await import('pdfjs-dist');
  pdfjs.GlobalWorkerOptions.workerSrc = pdfWorkerUrl;
  const task = pdfjs.getDocument({
    data,
    cMapUrl: new URL(PDFJS_CMAPS_PATH, document.baseURI).href,
    cMapPacked: true,
    // Text only: no fonts turned into FontFaces, no system fonts, no image decoders (wasm), no scripting.
    disableFontFace: true,
    useSystemFonts: false,
    useWasm: false,
    enableXfa: false,
    verbosity: pdfjs.VerbosityLevel.ERRORS,
  });
  const document_ = await task.promise;
  try {
    const pages: string[] = [];
    for (let number = 1; number <= document_.numPages; number++) {
      const page = await document_.getPage(number);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) {
        if (!('str' in item)) continue; // marked-content boundaries
        text += item.str;
        if (item.hasEOL) text += '\n';
      }
      page.cleanup();
      if (text.trim()) pages.push(text.trimEnd());
    }
    return pages.join('\n\n');
  } finally {
    await task.destroy();
  }
}
