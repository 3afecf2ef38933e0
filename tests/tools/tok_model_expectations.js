// Expected ids and decoded text for the hand-made tokenizers in tests/data/tokenize/models/,
// produced by the npm `tokenizers` package (the Hugging Face Rust library):
//   node tests/tools/tok_model_expectations.js /path/to/node_modules/tokenizers
// writes tests/data/tokenize/models/expected.json.
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require(process.argv[2] || 'tokenizers');

const dir = path.join(__dirname, '..', 'data', 'tokenize', 'models');
const inputs = {
  'bpe_byte_fallback.json': ['▁the▁hello▁world', 'hello', '▁thé', 'abcabc', 'xyz', 'qq▁the', '一', '😀!',
                             '<s>hello</s>', 'a\nb', '', '▁', 'ab\xff', '<s>', 'the<s>', 'x<unk>y'],
  'bpe_unk_unfused.json': ['▁the▁hello▁world', 'xyz', 'a§b', 'hello<s>', '▁hello▁▁'],
  'bpe_prefix_suffix.json': ['abcd', 'abc', 'ab', 'a', 'cd', 'dcba', 'xab', 'bcd', 'aab', 'abcdx'],
  'bpe_ignore_merges.json': ['hello', 'Ġworld', 'hellohello', 'Ġwor', 'hello<|end|>Ġworld', 'Ġhello', 'helloÃ©'],
  'wordpiece.json': ['unaffable', 'affa', 'aff', 'ab', 'abab.', 'xab', 'aaaaaaaaa', 'aaaaaaaa', 'a[MASK]b',
                     'a [MASK]b', 'axyzb', '[CLS]ab[SEP]', 'é', 'aé', "n't", 'un  [MASK]  aff', 'ab[UNK]'],
  'unigram.json': ['▁the', '▁thex', 'xxx', 'zz', '☃', '▁ab▁a', 'é', 'q☃q', '<s>the</s>', 'a <mask> b',
                   'a<mask>b', '<mask>', 'tok', 'atok', 'tok a', '▁ tok ', 'abtokab', ' <mask>  tok'],
  'unigram_plain.json': ['▁the', 'zz', '☃☃', 'q☃q', '▁a▁b'],
  'wordpiece_truncate_pad.json': ['ab', 'unaffable', 'abababab', 'ababababab', 'a', ''],
};

async function main() {
  const cases = [];
  for (const [file, texts] of Object.entries(inputs)) {
    const json = fs.readFileSync(path.join(dir, file), 'utf8');
    const tokenizer = Tokenizer.fromString(json);
    const vocabSize = tokenizer.getVocabSize(true);
    for (const text of texts) {
      const ids = (await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds();
      const plain = (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
      cases.push({
        file, text, ids, ids_without_specials: plain,
        decoded: await tokenizer.decode(ids, false),
        decoded_skipping_specials: await tokenizer.decode(ids, true),
      });
    }
    // Every id once, plus ids past the end (tokenizers drops unknown ids).
    const all = [...Array(vocabSize + 2).keys()];
    cases.push({ file, vocab_size: vocabSize, all_ids: all, decoded: await tokenizer.decode(all, false),
                 decoded_skipping_specials: await tokenizer.decode(all, true),
                 tokens: all.map((id) => tokenizer.idToToken(id) ?? null) });
  }
  fs.writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(cases, null, 1) + '\n');
}
main();
