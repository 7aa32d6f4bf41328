/**
 * The Hugging Face Hub's origin the app reads hf and hf-safetensors sources from: huggingface.co,
 * unless localStorage `hanmadi.hubUrl` names another (a mirror; the e2e tests' mock Hub). Not a
 * query parameter on purpose: a link must not be able to point the app at another model host.
 */
/** converter/hf-hub.ts HF_HUB_URL, repeated so the page bundle does not pull in the converter for a constant. */
export const DEFAULT_HUB_URL = 'https://huggingface.co';
export const HUB_URL_STORAGE_KEY = 'hanmadi.hubUrl';

export function hubUrl(): string {
  try {
    const value = localStorage.getItem(HUB_URL_STORAGE_KEY);
    if (value) {
      const url = new URL(value);
      if (url.protocol === 'https:' || url.protocol === 'http:') return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    }
  } catch {
    // No localStorage (privacy settings) or a malformed value: the default Hub.
  }
  return DEFAULT_HUB_URL;
}
