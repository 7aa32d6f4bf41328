/**
 * Where transformers.js reads a model's files from, per catalog source. transformers.js only
 * fetches from a "hub" (`env.remoteHost` + `env.remotePathTemplate`) or a local folder, and its
 * metadata checks skip absolute local URLs; so a folder URL is presented as a hub whose path
 * template is that folder. The model id only has to be a valid, unique repo-style name (it keys
 * transformers.js's memoized file checks).
 */
import { env } from '@huggingface/transformers';
import type { ModelSource } from '../model/catalog.ts';
import { EngineError } from './engine-error.ts';

export interface ModelLocation {
  modelPath: string;
  options: { revision?: string };
}

const HF_HOST = 'https://huggingface.co/';
const HF_TEMPLATE = '{model}/resolve/{revision}/';

function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_.]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 90) || 'model';
}

export function locateModel(modelId: string, source: ModelSource): ModelLocation {
  env.allowLocalModels = false;
  env.allowRemoteModels = true;
  switch (source.kind) {
    case 'url': {
      const url = new URL(source.baseUrl);
      if (!url.pathname.endsWith('/')) url.pathname += '/';
      env.remoteHost = `${url.origin}/`;
      env.remotePathTemplate = url.pathname.slice(1);
      return { modelPath: `hanmadi/${slug(modelId)}`, options: {} };
    }
    case 'hf':
      env.remoteHost = HF_HOST;
      env.remotePathTemplate = HF_TEMPLATE;
      return { modelPath: source.repo, options: { revision: source.revision } };
    case 'hf-safetensors':
      throw new EngineError('model-files-missing', `${source.repo} has no ONNX files yet: convert it first.`);
  }
}
