#!/bin/sh
# Regenerates everything under tests/data/tokenize/ (run from anywhere).
# Needs: node + npm (registry access for `npm ci`), Debian packages
# sentencepiece (spm_train) and python3-sentencepiece, man-db (for the corpus).
# Pass --skip-spm to keep the committed SentencePiece models (retraining
# depends on the installed manual pages and so is not byte-reproducible).
set -eu
cd "$(dirname "$0")"
DATA=../../data/tokenize
[ -d node_modules ] || npm ci
node make_hard_strings.js
node build_tokenizers.js
if [ "${1:-}" != "--skip-spm" ]; then
  TMP=$(mktemp -d)
  /usr/bin/python3 make_spm_corpus.py "$TMP/corpus.txt"
  spm_train --input="$TMP/corpus.txt" --model_prefix="$TMP/unigram" --vocab_size=3000 \
    --model_type=unigram --normalization_rule_name=nmt_nfkc --num_threads=1 --random_seed=1
  spm_train --input="$TMP/corpus.txt" --model_prefix="$TMP/llama2bpe" --vocab_size=4000 \
    --model_type=bpe --byte_fallback=true --normalization_rule_name=identity \
    --remove_extra_whitespaces=false --split_digits=true --allow_whitespace_only_pieces=true \
    --num_threads=1 --random_seed=1
  cp "$TMP/unigram.model" "$TMP/unigram.in.model"; cp "$TMP/llama2bpe.model" "$TMP/llama2bpe.in.model"
else
  TMP=$(mktemp -d)
  cp "$DATA/unigram/spm.model" "$TMP/unigram.in.model"; cp "$DATA/llama2-style/spm.model" "$TMP/llama2bpe.in.model"
fi
/usr/bin/python3 convert_spm.py unigram "$TMP/unigram.in.model" "$DATA/unigram"
/usr/bin/python3 convert_spm.py llama2 "$TMP/llama2bpe.in.model" "$DATA/llama2-style"
node build_variants.js
rm -rf "$TMP"
node make_refs.js
