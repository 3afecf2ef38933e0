#!/usr/bin/env node
// Small tokenizer.json variants that exercise the remaining normalizers,
// pre-tokenizers, post-processors and decoders, built from the vocabularies of
// the main reference tokenizers (run after build_tokenizers.js and convert_spm.py):
//
//   wordpiece-variants  bert-base-uncased vocab; normalizer Sequence[NFKD, StripAccents,
//                       Lowercase, Replace("``" -> "\""), Strip(both)]; pre-tokenizer
//                       Sequence[WhitespaceSplit, Punctuation(Isolated), Digits(individual)];
//                       BertProcessing; WordPiece decoder with cleanup false
//   wordpiece-cased     bert-base-uncased vocab; BertNormalizer(lowercase false,
//                       strip_accents false); Whitespace pre-tokenizer; no post-processor
//   roberta-style       GPT-2's first 8000 merges only (small, dense ids renumbered
//                       RoBERTa-like: <s>=0 <pad>=1 </s>=2 <unk>=3 ... <mask> last, lstrip);
//                       ByteLevel add_prefix_space true; RobertaProcessing
//   unigram-newconv     the unigram model as the newest transformers converter writes it:
//                       Sequence[Precompiled, Strip(right), Replace(" {2,}" -> "▁")],
//                       Metaspace prepend_scheme "first", split false; no post-processor
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const ROOT = path.resolve(__dirname, '..', '..', 'data', 'tokenize');
const load = (n) => JSON.parse(fs.readFileSync(path.join(ROOT, n, 'tokenizer.json'), 'utf8'));

function write(name, obj, pretty) {
  const dir = path.join(ROOT, name);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'tokenizer.json');
  fs.writeFileSync(file, pretty ? JSON.stringify(obj, null, 2) + '\n' : JSON.stringify(obj));
  Tokenizer.fromFile(file);
  console.log(`wrote ${path.relative(process.cwd(), file)} (${fs.statSync(file).size} bytes)`);
}

function wordpieceVariants() {
  const t = load('bert-base-uncased');
  t.normalizer = {
    type: 'Sequence',
    normalizers: [
      { type: 'NFKD' },
      { type: 'StripAccents' },
      { type: 'Lowercase' },
      { type: 'Replace', pattern: { String: '``' }, content: '"' },
      { type: 'Strip', strip_left: true, strip_right: true },
    ],
  };
  t.pre_tokenizer = {
    type: 'Sequence',
    pretokenizers: [
      { type: 'WhitespaceSplit' },
      { type: 'Punctuation', behavior: 'Isolated' },
      { type: 'Digits', individual_digits: true },
    ],
  };
  t.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] };
  t.decoder = { type: 'WordPiece', prefix: '##', cleanup: false };
  return t;
}

function wordpieceCased() {
  const t = load('bert-base-uncased');
  t.normalizer = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: false };
  t.pre_tokenizer = { type: 'Whitespace' };
  t.post_processor = null;
  return t;
}

function robertaStyle() {
  const g = load('gpt2');
  const NMERGES = 8000;
  const merges = g.model.merges.slice(0, NMERGES);
  const byId = Object.entries(g.model.vocab).sort((a, b) => a[1] - b[1]).map((e) => e[0]);
  // Keep the 256 byte symbols and every merge result, in GPT-2 id order.
  const keep = new Set(byId.slice(0, 256));
  for (const m of merges) keep.add(m.replace(' ', ''));
  const vocab = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
  let next = 4;
  for (const tok of byId) if (keep.has(tok)) vocab[tok] = next++;
  const maskId = next;
  vocab['<mask>'] = maskId;
  const sp = (id, content, lstrip) => ({ id, content, single_word: false, lstrip: !!lstrip, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [sp(0, '<s>'), sp(1, '<pad>'), sp(2, '</s>'), sp(3, '<unk>'), sp(maskId, '<mask>', true)],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges,
    },
  };
}

function unigramNewConverter() {
  const t = load('unigram');
  const pre = t.normalizer.normalizers[0];
  if (pre.type !== 'Precompiled') throw new Error('unexpected unigram normalizer');
  t.normalizer = {
    type: 'Sequence',
    normalizers: [
      pre,
      { type: 'Strip', strip_left: false, strip_right: true },
      { type: 'Replace', pattern: { Regex: ' {2,}' }, content: '\u2581' },
    ],
  };
  t.pre_tokenizer = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false };
  t.decoder = { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false };
  t.post_processor = null;
  return t;
}

write('wordpiece-variants', wordpieceVariants(), false);
write('wordpiece-cased', wordpieceCased(), false);
write('roberta-style', robertaStyle(), false);
write('unigram-newconv', unigramNewConverter(), false);
