// Writes tests/data/tokenize/normalizers.json and pre_tokenizers.json: the outputs of the npm
// `tokenizers` package (the Hugging Face Rust library) for each normalizer / pre-tokenizer spec
// on a set of hard strings. qkv's tests compare against these files, so they need neither node
// nor the network. Run from the repository root:
//   NODE_PATH=/tmp/tokref/node_modules node tests/tools/make_tokenize_expectations.js
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const dataDir = path.join(__dirname, '..', 'data', 'tokenize');
// A tiny SentencePiece charsmap built by spm_train from tests/data/tokenize/precompiled_rules.tsv.
const charsmap = fs.readFileSync(path.join(dataDir, 'precompiled_tiny.b64'), 'utf8').trim();

const texts = [
  '', ' ', '   ', 'a', 'Hello, World! It\'s  a\ttest.\n\nNew   line',
  'Ünïcödé çà et là — ÅΣΑΣ İstanbul ß ẞ Straße',
  '中文字符 and 日本語テキスト 한국어 𠀀𪜀',
  '👩‍💻 family 👨‍👩‍👧‍👦 flags 🇫🇷🇩🇪🇺 skin 👍🏽 ❤️',
  'e\u0301 a\u0300\u0316 o\u0308\u0304 \u0915\u094d\u0937 \u1100\u1161\u11a8',
  '  leading and trailing  \t\n', 'a  b   c    d     e',
  'numbers 1234567 ١٢٣ ½ ² Ⅻ 3.14 12a34',
  'I\'M SHOUTING\'S IT\'LL WE\'VE they\'re \'d \'D \'Re \'ſ don\'t',
  'def f(x):\n    return x**2  # comment\r\n\tpass\n',
  '\u0000ctrl\u0001\u200bzero\u00adsoft\ufeffbom\ufffd\u0085nel',
  'ｶﾞｷﾞ ﬁ ① ㌀ ｈｅｌｌｏ Ａ \uff76\uff9e',
  'tab\t\tsep\u3000ideographic\u00a0nbsp\u2028ls\u2029ps',
  'x\r\ny\n\r\nz  \n  w \n\n', 'price: $100.00 (50% off!!!) -- "quoted" [x]{y}<z>',
  '...!!!???  ---', ' leading space', 'a-b-c--d', '▁already▁meta space',
  'café ﬁne ① Ａbc \uff76\uff9e テスト 👩\u200d💻 á a\u0301 é e\u0301',
];

const normalizers = [
  { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false },
  { type: 'BertNormalizer', clean_text: false, handle_chinese_chars: false, strip_accents: true, lowercase: false },
  { type: 'Lowercase' }, { type: 'NFC' }, { type: 'NFD' }, { type: 'NFKC' }, { type: 'NFKD' }, { type: 'StripAccents' },
  { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }] },
  { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
  { type: 'Replace', pattern: { String: 'ab' }, content: '' },
  { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' },
  { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
  { type: 'Replace', pattern: { Regex: '\\.' }, content: '<dot>' },
  { type: 'Prepend', prepend: '▁' },
  { type: 'Strip', strip_left: true, strip_right: true },
  { type: 'Strip', strip_left: true, strip_right: false },
  { type: 'Strip', strip_left: false, strip_right: true },
  { type: 'Nmt' }, { type: 'ByteLevel' },
  { type: 'Precompiled', precompiled_charsmap: charsmap },
  { type: 'Sequence', normalizers: [{ type: 'Precompiled', precompiled_charsmap: charsmap },
                                    { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
];

const gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const qwen2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const split = (pattern, behavior, invert = false) => ({ type: 'Split', pattern, behavior, invert });
const preTokenizers = [
  { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  split({ Regex: gpt2 }, 'Isolated'), split({ Regex: llama3 }, 'Isolated'), split({ Regex: qwen2 }, 'Isolated'),
  split({ Regex: llama3 }, 'Removed'), split({ Regex: gpt2 }, 'Isolated', true),
  split({ String: ' ' }, 'Removed'), split({ String: ' ' }, 'Isolated'), split({ String: ' ' }, 'MergedWithPrevious'),
  split({ String: ' ' }, 'MergedWithNext'), split({ String: ' ' }, 'Contiguous'), split({ String: ' ' }, 'Removed', true),
  split({ String: '--' }, 'Isolated'), split({ Regex: '\\s+' }, 'MergedWithPrevious'), split({ Regex: '\\p{N}' }, 'Isolated'),
  split({ Regex: '-' }, 'Contiguous'), split({ Regex: '\\d{2}' }, 'MergedWithNext'),
  { type: 'Whitespace' }, { type: 'WhitespaceSplit' }, { type: 'BertPreTokenizer' },
  { type: 'Digits', individual_digits: true }, { type: 'Digits', individual_digits: false },
  { type: 'Punctuation', behavior: 'Isolated' }, { type: 'Punctuation', behavior: 'Contiguous' },
  { type: 'Punctuation', behavior: 'Removed' }, { type: 'Punctuation', behavior: 'MergedWithNext' },
  { type: 'Punctuation', behavior: 'MergedWithPrevious' },
  { type: 'CharDelimiterSplit', delimiter: '-' },
  { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true },
  { type: 'Metaspace', replacement: '▁', prepend_scheme: 'never', split: true },
  { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false },
  { type: 'Metaspace', replacement: '▁', add_prefix_space: true },
  { type: 'Metaspace', replacement: '▁', add_prefix_space: false, prepend_scheme: 'never' },
  { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' },
                                      { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true }] },
  { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' },
                                      { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }] },
  { type: 'Sequence', pretokenizers: [split({ Regex: llama3 }, 'Isolated'),
                                      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] },
  { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' },
                                      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true }] },
  { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'BertPreTokenizer' }] },
];

function tokenizer(normalizer, preTokenizer) {
  return Tokenizer.fromString(JSON.stringify({
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer, pre_tokenizer: preTokenizer,
    post_processor: null, decoder: null, model: { type: 'WordLevel', vocab: { '[UNK]': 0 }, unk_token: '[UNK]' },
  }));
}

const normalizerCases = normalizers.map((spec) => {
  const n = tokenizer(spec, null).getNormalizer();
  return { spec, outputs: texts.map((t) => n.normalizeString(t)) };
});
const preTokenizerCases = preTokenizers.map((spec) => {
  const p = tokenizer(null, spec).getPreTokenizer();
  return { spec, outputs: texts.map((t) => p.preTokenizeString(t).map(([piece]) => piece)) };
});
// Random strings over an alphabet of awkward characters, for the regex matchers and normalizers.
const alphabet = [..."aAsSeEtTlLdDrRvVmM'’ \t\n\r\u00a0\u3000\u2028.,!?-_$1234567890٣²½Ⅻ中日éüſ" +
                  "\u0301\u0308\u200d👩💻🇫🇷🏽❤\ufe0f\uff76\uff9e①ﬁ\u0085\u000b#()\"`ß\u0130" +
                  "ᾼ\u1100\u1161\u11a8\u0915\u094d"];
let seed = 12345;
const random = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const randomTexts = [];
for (let i = 0; i < 300; ++i) {
  let s = '';
  for (let k = random(14); k > 0; --k) s += alphabet[random(alphabet.length)];
  randomTexts.push(s);
}
const randomNormalizers = [normalizers[0], normalizers[4], normalizers[6], normalizers[3], normalizers[21]];
const randomPreTokenizers = [preTokenizers[3], preTokenizers[4], preTokenizers[5], preTokenizers[19], preTokenizers[21],
                             preTokenizers[25], preTokenizers[31], preTokenizers[1]];
fs.writeFileSync(path.join(dataDir, 'normalizers_random.json'), JSON.stringify({
  texts: randomTexts,
  cases: randomNormalizers.map((spec) => {
    const n = tokenizer(spec, null).getNormalizer();
    return { spec, outputs: randomTexts.map((t) => n.normalizeString(t)) };
  }),
}) + '\n');
fs.writeFileSync(path.join(dataDir, 'pre_tokenizers_random.json'), JSON.stringify({
  texts: randomTexts,
  cases: randomPreTokenizers.map((spec) => {
    const p = tokenizer(null, spec).getPreTokenizer();
    return { spec, outputs: randomTexts.map((t) => p.preTokenizeString(t).map(([piece]) => piece)) };
  }),
}) + '\n');
fs.writeFileSync(path.join(dataDir, 'normalizers.json'),
                 JSON.stringify({ texts, cases: normalizerCases }, null, 1) + '\n');
fs.writeFileSync(path.join(dataDir, 'pre_tokenizers.json'),
                 JSON.stringify({ texts, cases: preTokenizerCases }, null, 1) + '\n');
