#!/usr/bin/env node
// Encodes every string of hard_strings.json with every tests/data/tokenize/<name>/tokenizer.json
// using the npm `tokenizers` package (the Node binding of Hugging Face's Rust
// `tokenizers` library, the reference implementation) and writes
// tests/data/tokenize/<name>/expected.json.
//
// expected.json = {
//   "tokenizer": "<name>", "generator": "...", "tokenizers_version": "x.y.z",
//   "cases": [ {
//     "id":      index into hard_strings.json,
//     "category": the hard_strings.json category,
//     "text":    the input (for invalid UTF-8 inputs: the lossy-decoded text),
//     "hex":     raw input bytes, only for invalid UTF-8 inputs,
//     "ids":     encode(text, add_special_tokens = true),
//     "tokens":  the token strings of "ids",
//     "ids_plain":      encode(text, add_special_tokens = false)  (omitted if equal to "ids"),
//     "decode":         decode(ids, skip_special_tokens = false),
//     "decode_skip":    decode(ids, skip_special_tokens = true),
//     "decode_plain":       decode(ids_plain, skip_special_tokens = false) (omitted if ids_plain omitted),
//     "decode_plain_skip":  decode(ids_plain, skip_special_tokens = true)  (omitted if ids_plain omitted)
//   } ] }
//
// Usage: node make_refs.js [name ...]
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const ROOT = path.resolve(__dirname, '..', '..', 'data', 'tokenize');
const VERSION = require('tokenizers/package.json').version;

function sameArray(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function run(name, strings) {
  const file = path.join(ROOT, name, 'tokenizer.json');
  const tok = Tokenizer.fromFile(file);
  const cases = [];
  for (const s of strings) {
    const withSp = await tok.encode(s.text, null, { addSpecialTokens: true });
    const plain = await tok.encode(s.text, null, { addSpecialTokens: false });
    const ids = withSp.getIds();
    const idsPlain = plain.getIds();
    const c = { id: s.id, category: s.category, text: s.text };
    if (s.hex !== undefined) c.hex = s.hex;
    c.ids = ids;
    c.tokens = withSp.getTokens();
    c.decode = await tok.decode(ids, false);
    c.decode_skip = await tok.decode(ids, true);
    if (!sameArray(ids, idsPlain)) {
      c.ids_plain = idsPlain;
      c.decode_plain = await tok.decode(idsPlain, false);
      c.decode_plain_skip = await tok.decode(idsPlain, true);
    }
    cases.push(c);
  }
  const out = {
    tokenizer: name,
    generator: 'tests/tools/tokenizer_refs/make_refs.js',
    tokenizers_version: VERSION,
    note: 'ids from the npm package "tokenizers" (Hugging Face Rust library); see hard_strings.json for the invalid-UTF-8 convention',
    cases,
  };
  const outFile = path.join(ROOT, name, 'expected.json');
  // One case per line: compact but diffable.
  const body = cases.map((c) => JSON.stringify(c)).join(',\n');
  const head = JSON.stringify({ ...out, cases: undefined }).slice(0, -1);
  fs.writeFileSync(outFile, `${head},"cases":[\n${body}\n]}\n`);
  JSON.parse(fs.readFileSync(outFile, 'utf8'));
  console.log(`wrote ${path.relative(process.cwd(), outFile)} (${cases.length} cases, ${fs.statSync(outFile).size} bytes)`);
}

async function main() {
  const strings = JSON.parse(fs.readFileSync(path.join(__dirname, 'hard_strings.json'), 'utf8')).strings;
  let names = process.argv.slice(2);
  if (names.length === 0) {
    names = fs.readdirSync(ROOT).filter((n) => fs.existsSync(path.join(ROOT, n, 'tokenizer.json'))).sort();
  }
  for (const n of names) await run(n, strings);
}

main().catch((e) => { console.error(e); process.exit(1); });
