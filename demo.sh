#!/usr/bin/env bash
# The demo: installs what is missing, builds qkv's programs, and translates with the bundled
# English-Spanish model (examples/models/en-es, trained by examples/models/train_demos.py).
# Its cross-attention is written to build/attention.svg (open it in a browser).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install_deps.sh
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DQKV_BUILD_TESTS=OFF -DQKV_BUILD_BENCHMARKS=OFF > /dev/null
cmake --build build/demo -j "$(nproc)" --target qkv-translate qkv-generate qkv-embed qkv-tokenize
bin=build/demo/examples
set -x
$bin/qkv-translate --model examples/models/en-es --attention-svg build/attention.svg "The ball is blue"
$bin/qkv-translate --model examples/models/en-es "My sister has three white cats" "The red cars are big"
$bin/qkv-generate --model examples/models/tiny-lm --prompt "The green" --greedy --max-new-tokens 12
$bin/qkv-embed --model examples/models/lang-id --classify "The dog eats the apple" "El perro come la manzana"
