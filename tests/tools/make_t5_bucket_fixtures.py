#!/usr/bin/python3
"""Generate tests/data/fixtures/nn_relative_position_bias.safetensors: T5 relative position
buckets and biases, computed with torch exactly as HF T5Attention does (transformers v4.37.2,
_relative_position_bucket and compute_bias re-typed below, since transformers is not installed).

Run with the system interpreter, which has torch 1.13 and numpy:
    /usr/bin/python3 tests/tools/make_t5_bucket_fixtures.py [--out DIR]

Deterministic: reruns are byte-identical. See tests/data/fixtures/README.md for the contents.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures import DATA, write_st  # noqa: E402

# (num_buckets, max_distance): T5's default (32, 128), t5_a's (8, 20), the smallest legal
# settings, odd bucket counts, large ones, and four where float64 arithmetic would put some
# distances in another bucket than HF's float32 does (the script prints which).
CONFIGS = [(32, 128), (8, 20), (16, 64), (4, 5), (2, 3), (33, 128), (64, 256), (128, 1000), (32, 17),
           (9, 128), (18, 128), (34, 27), (48, 81)]
MAX_REL = 1100  # relative positions -MAX_REL..MAX_REL, beyond the largest max_distance


def relative_position_bucket(relative_position, bidirectional=True, num_buckets=32, max_distance=128):
    """HF T5Attention._relative_position_bucket, statement for statement."""
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    relative_position_if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    relative_position_if_large = torch.min(
        relative_position_if_large, torch.full_like(relative_position_if_large, num_buckets - 1)
    )
    relative_buckets += torch.where(is_small, relative_position, relative_position_if_large)
    return relative_buckets


def bucket_f64(n, bidirectional, num_buckets, max_distance):
    """The same formula in float64 (plain Python): only used to report where float32 matters."""
    bucket = 0
    if bidirectional:
        num_buckets //= 2
        bucket += num_buckets if n > 0 else 0
        n = abs(n)
    else:
        n = -min(n, 0)
    max_exact = num_buckets // 2
    if n < max_exact:
        return bucket + n
    large = max_exact + int(math.log(n / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact))
    return bucket + min(large, num_buckets - 1)


def compute_bias(table, query_length, key_length, bidirectional, max_distance):
    """HF T5Attention.compute_bias: [1, H, Lq, Lk] from the [num_buckets, H] table."""
    context_position = torch.arange(query_length, dtype=torch.long)[:, None]
    memory_position = torch.arange(key_length, dtype=torch.long)[None, :]
    relative_position = memory_position - context_position
    buckets = relative_position_bucket(relative_position, bidirectional, table.shape[0], max_distance)
    values = torch.nn.functional.embedding(buckets, table)
    return values.permute([2, 0, 1]).unsqueeze(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(DATA, "fixtures"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    rel = torch.arange(-MAX_REL, MAX_REL + 1, dtype=torch.long)
    out = {"relative_positions": rel.numpy()}
    for nb, md in CONFIGS:
        for bidirectional in (True, False):
            if bidirectional and nb < 4:  # HF divides by zero (max_exact = 0)
                continue
            name = f"{'bidirectional' if bidirectional else 'causal'}.nb{nb}_md{md}"
            b = relative_position_bucket(rel, bidirectional, nb, md).numpy()
            out[name] = b.astype(np.int64)
            slow = np.array([bucket_f64(int(n), bidirectional, nb, md) for n in rel])
            differ = rel.numpy()[slow != b]
            if len(differ):
                print(f"{name}: float64 arithmetic would bucket {list(differ)} differently")

    # compute_bias with a random table: a full encoder bias, and the last 3 query rows of a
    # decoder bias over 11 keys (as HF slices it when 8 positions are cached).
    g = torch.Generator().manual_seed(0)
    table = torch.randn(8, 4, generator=g)
    out["bias.table"] = table.numpy()
    out["bias.encoder_7x9"] = compute_bias(table, 7, 9, True, 20)[0].numpy()
    out["bias.decoder_start8_3x11"] = compute_bias(table, 11, 11, False, 20)[0, :, -3:, :].numpy()
    write_st(os.path.join(args.out, "nn_relative_position_bias.safetensors"), out, "nn_relative_position_bias")


if __name__ == "__main__":
    main()
