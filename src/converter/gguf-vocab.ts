/** The tokenizer as GGUF metadata: a Hugging Face tokenizer.json's GPT-2-style BPE vocabulary, merges, special ids and chat template (gguf-py's SpecialVocab). */
import type { HfLlamaConfig } from '../model/config.ts';
import { type GgufValue, gguf, GgufError } from './gguf-container.ts';

/** The parts of tokenizer.json this writer reads. */
export interface HfTokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges?: (string | [string, string])[]; byte_fallback?: boolean };
  added_tokens?: { id: number; content: string; special?: boolean }[];
  pre_tokenizer?: unknown;
  post_processor?: unknown;
}

export type HfTokenizerConfig = Record<string, unknown> & { chat_template?: unknown };

/** gguf-py's TokenType. */
const TOKEN_TYPE = { NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5 } as const;

/** Llama 3's pre-tokenizer regex; llama.cpp calls this pre-tokenizer "llama-bpe". */
const LLAMA3_SPLIT_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * llama.cpp names BPE pre-tokenizers by hashing a tokenization (convert_hf_to_gguf's
 * get_vocab_base_pre), which needs the Python tokenizer; here the Llama 3 pre-tokenizer is
 * recognized by its split regex instead, the one Kanana ships.
 */
export function detectTokenizerPre(tokenizer: HfTokenizerJson): string | null {
  return JSON.stringify(tokenizer.pre_tokenizer ?? null).includes(JSON.stringify(LLAMA3_SPLIT_REGEX)) ? 'llama-bpe' : null;
}

/** convert_hf_to_gguf's does_token_look_special (the rules relevant to BPE vocabularies). */
function looksSpecial(token: string): boolean {
  return (
    (token.startsWith('<|') && token.endsWith('|>')) ||
    (token.startsWith('<｜') && token.endsWith('｜>')) ||
    ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(token)
  );
}

/** tokenizer_config's `bos_token` etc.: a string or an AddedToken object. */
function tokenContent(entry: unknown): string | null {
  if (typeof entry === 'string') return entry;
  if (entry && typeof entry === 'object' && typeof (entry as { content?: unknown }).content === 'string') return (entry as { content: string }).content;
  return null;
}

/** The GPT-2-style vocabulary keys, as `_set_vocab_gpt2` + `SpecialVocab(load_merges=True)` write them. */
export function llamaTokenizerMetadata(
  config: HfLlamaConfig,
  tokenizer: HfTokenizerJson,
  tokenizerConfig: HfTokenizerConfig,
  pre?: string,
): Map<string, GgufValue> {
  if (tokenizer.model.type !== 'BPE' || tokenizer.model.byte_fallback) {
    throw new GgufError('unsupported-tokenizer', 'Only byte-level BPE tokenizers (GPT-2 / Llama 3 style tokenizer.json) can be written to GGUF.');
  }
  const tokenizerPre = pre ?? detectTokenizerPre(tokenizer);
  if (!tokenizerPre) {
    throw new GgufError(
      'unsupported-tokenizer',
      'Unrecognized BPE pre-tokenizer (only Llama 3\'s "llama-bpe" is detected); pass the llama.cpp pre-tokenizer name explicitly.',
    );
  }
  const vocabSize = config.vocab_size;
  const tokens: string[] = new Array(vocabSize);
  const types = new Int32Array(vocabSize);
  for (const [token, id] of Object.entries(tokenizer.model.vocab)) {
    if (id >= vocabSize) throw new GgufError('size-mismatch', `Token id ${id} is outside vocab_size ${vocabSize}.`);
    tokens[id] = token;
    types[id] = TOKEN_TYPE.NORMAL;
  }
  const added = tokenizer.added_tokens ?? [];
  for (const t of added) {
    if (t.id >= vocabSize) throw new GgufError('size-mismatch', `Added token id ${t.id} is outside vocab_size ${vocabSize}.`);
    tokens[t.id] = t.content;
    types[t.id] = t.special || looksSpecial(t.content) ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED;
  }
  for (let i = 0; i < vocabSize; i++) {
    if (tokens[i] === undefined) {
      tokens[i] = `[PAD${i}]`;
      types[i] = TOKEN_TYPE.UNUSED;
    }
  }
  // Merges: "a b" strings, or [a, b] pairs (transformers ≥ 4.45) with spaces encoded as U+0120.
  const merges = (tokenizer.model.merges ?? []).map((m) =>
    typeof m === 'string' ? m : m.map((part) => part.replaceAll(' ', String.fromCharCode(' '.charCodeAt(0) + 256))).join(' '),
  );

  const meta = new Map<string, GgufValue>([
    ['tokenizer.ggml.model', gguf.string('gpt2')],
    ['tokenizer.ggml.pre', gguf.string(tokenizerPre)],
    ['tokenizer.ggml.tokens', gguf.strings(tokens)],
    ['tokenizer.ggml.token_type', gguf.i32s(types)],
  ]);
  if (merges.length) meta.set('tokenizer.ggml.merges', gguf.strings(merges));

  // Special ids: tokenizer_config's token strings first, then config.json's integer ids.
  const idOf = (content: string | null) => (content === null ? undefined : added.find((t) => t.content === content)?.id);
  const keyOf: Record<string, string> = { bos: 'bos', eos: 'eos', unk: 'unknown', sep: 'seperator', pad: 'padding', cls: 'cls', mask: 'mask' };
  for (const [typ, key] of Object.entries(keyOf)) {
    const fromTokenizer = idOf(tokenContent(tokenizerConfig[`${typ}_token`]));
    const fromConfig = config[`${typ}_token_id`];
    const id = fromTokenizer ?? (typeof fromConfig === 'number' ? fromConfig : undefined);
    if (id !== undefined && id >= 0 && id < vocabSize) meta.set(`tokenizer.ggml.${key}_token_id`, gguf.u32(id));
  }
  const addBos = addsBosByTemplate(tokenizer, tokenizerConfig);
  for (const typ of ['bos', 'eos'] as const) {
    const explicit = tokenizerConfig[`add_${typ}_token`];
    const value = typeof explicit === 'boolean' ? explicit : typ === 'bos' ? addBos : undefined;
    if (value !== undefined) meta.set(`tokenizer.ggml.add_${typ}_token`, gguf.bool(value));
  }
  if (typeof tokenizerConfig.chat_template === 'string') meta.set('tokenizer.chat_template', gguf.string(tokenizerConfig.chat_template));
  return meta;
}

/** SpecialVocab's reading of a TemplateProcessing post-processor: does it put bos first? */
function addsBosByTemplate(tokenizer: HfTokenizerJson, tokenizerConfig: HfTokenizerConfig): boolean | undefined {
  type Processor = { type?: string; single?: { SpecialToken?: { id?: string } }[]; processors?: Processor[] };
  const root = tokenizer.post_processor as Processor | null | undefined;
  if (!root) return undefined;
  for (const p of root.processors ?? [root]) {
    if (p.type !== 'TemplateProcessing' || !p.single || p.single.length < 2) continue;
    const first = p.single[0].SpecialToken?.id;
    if (first) return first === tokenContent(tokenizerConfig.bos_token);
  }
  return undefined;
}
