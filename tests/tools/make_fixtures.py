#!/usr/bin/python3
"""Generate qkv's test fixtures (tests/data/fixtures/*.safetensors).

Run with the system interpreter, which has torch 1.13 and numpy:
    /usr/bin/python3 tests/tools/make_fixtures.py [--out DIR] [--copy-shared /work/shared]

Conventions follow /work/shared/refs/README.md: standard safetensors, tensors laid out by
decreasing element size, metadata {"case": name}, F32 unless stated, I64 ids, *_f64 = F64.
References for simple math are computed in float64 from the float32-rounded inputs; the
model cases are "what torch's float32 modules do". Everything is seeded, so reruns are
byte-identical.
"""
import argparse
import json
import math
import os
import shutil
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "data"))

# ---------------------------------------------------------------- safetensors I/O
_DT = {np.dtype(np.float64): "F64", np.dtype(np.float32): "F32",
       np.dtype(np.int64): "I64", np.dtype(np.uint8): "U8"}
_NP = {v: k for k, v in _DT.items()}


def write_st(path, tensors, case):
    """tensors: dict name -> np.ndarray (dtype decides the safetensors dtype)."""
    items = [(k, np.ascontiguousarray(v)) for k, v in tensors.items()]
    for k, v in items:
        assert v.dtype in _DT, (k, v.dtype)
    # decreasing element size, so every tensor is aligned to its own size
    items.sort(key=lambda kv: -kv[1].dtype.itemsize)
    header, blobs, off = {}, [], 0
    for k, v in items:
        b = v.astype(v.dtype.newbyteorder("<"), copy=False).tobytes()
        header[k] = {"dtype": _DT[v.dtype], "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"case": case}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_st(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__", {})
    out, end = {}, 0
    for k, e in header.items():
        a, b = e["data_offsets"]
        dt = _NP[e["dtype"]]
        out[k] = np.frombuffer(buf[8 + n + a:8 + n + b], dtype=dt.newbyteorder("<")).reshape(e["shape"])
        end = max(end, b)
    assert 8 + n + end == len(buf), path
    return out, meta


# ---------------------------------------------------------------- helpers
def f32(a):
    return np.asarray(a, dtype=np.float32)


def npy(t):
    return t.detach().cpu().numpy()


def softmax64(s):
    """Row softmax in float64; rows with no finite entry give 0 (qkv's documented contract)."""
    m = np.max(s, axis=-1, keepdims=True)
    dead = ~np.isfinite(m)
    e = np.exp(s - np.where(dead, 0.0, m))
    e = np.where(dead, 0.0, e)
    z = e.sum(-1, keepdims=True)
    return np.where(z > 0, e / np.where(z > 0, z, 1.0), 0.0)


def attention64(q, k, v, scale, add_mask=None):
    s = (q.astype(np.float64) @ k.astype(np.float64).T) * float(scale)
    if add_mask is not None:
        s = s + add_mask
    p = softmax64(s)
    return p @ v.astype(np.float64), p


def sinusoidal_interleaved(n_pos, d):
    """Original 'Attention Is All You Need': PE[p,2i]=sin(p/10000^(2i/d)), PE[p,2i+1]=cos(same)."""
    pe = np.zeros((n_pos, d))
    pos = np.arange(n_pos, dtype=np.float64)[:, None]
    i2 = np.arange(0, d, 2, dtype=np.float64)
    ang = pos / np.power(10000.0, i2 / d)
    pe[:, 0::2] = np.sin(ang)
    pe[:, 1::2] = np.cos(ang[:, : d // 2])
    return pe


def sinusoidal_marian(n_pos, d):
    """HF MarianSinusoidalPositionalEmbedding._init_weight, re-implemented in float64."""
    enc = np.array([[p / np.power(10000, 2 * (j // 2) / d) for j in range(d)] for p in range(n_pos)])
    out = np.zeros((n_pos, d))
    sentinel = d // 2 if d % 2 == 0 else d // 2 + 1
    out[:, :sentinel] = np.sin(enc[:, 0::2])
    out[:, sentinel:] = np.cos(enc[:, 1::2])
    return out


# ---------------------------------------------------------------- 1. linear
def make_linear(out_dir):
    rng = np.random.default_rng(101)
    t = {}
    cases = [(1, 1, 1), (7, 33, 7), (33, 7, 1000), (3, 1000, 33), (1, 1000, 7)]
    for ci, (M, K, N) in enumerate(cases):
        p = f"m{M}_k{K}_n{N}."
        x = rng.standard_normal((M, K))
        if ci == len(cases) - 1:
            x[0] *= 1e4  # extreme row (this case has a single row)
        x, w, b = f32(x), f32(rng.standard_normal((N, K))), f32(rng.standard_normal(N))
        y0 = x.astype(np.float64) @ w.astype(np.float64).T
        t.update({p + "x": x, p + "weight": w, p + "bias": b,
                  p + "y": f32(y0 + b.astype(np.float64)), p + "y_nobias": f32(y0)})
    write_st(os.path.join(out_dir, "ops_linear.safetensors"), t, "ops_linear")


# ---------------------------------------------------------------- 2. attention
def make_attention(out_dir):
    rng = np.random.default_rng(202)
    t = {}
    cases = [(1, 1, 8, 8), (7, 7, 8, 8), (7, 33, 16, 12), (33, 33, 33, 7), (5, 1000, 8, 8)]
    for i, (Lq, Lk, d, dv) in enumerate(cases):
        p = f"c{i}."
        q, k, v = (f32(rng.standard_normal(s)) for s in [(Lq, d), (Lk, d), (Lk, dv)])
        if i == 2:
            k[5] *= 1e3  # one huge key: scores ~1e3, needs max subtraction
        scale = f32([1.0 / math.sqrt(d) if i % 2 == 0 else 1.0])
        qi, kj = np.arange(Lq)[:, None], np.arange(Lk)[None, :]
        causal = np.where(kj <= qi + (Lk - Lq), 0.0, -np.inf)
        keypad = np.zeros(Lk, np.uint8)
        keypad[Lk - Lk // 3:] = 1  # last third padded; Lk//3 < Lk so key 0 stays valid
        boolm = (rng.random((Lq, Lk)) < 0.3).astype(np.uint8)
        boolm[:, 0] = 0  # never mask key 0 -> no fully-masked rows
        fmask = f32(np.where(boolm == 1, -np.inf, 2.0 * rng.standard_normal((Lq, Lk))))
        out_f, probs_f = attention64(q, k, v, scale[0], fmask.astype(np.float64))
        t.update({
            p + "q": q, p + "k": k, p + "v": v, p + "scale": scale,
            p + "out_nomask": f32(attention64(q, k, v, scale[0])[0]),
            p + "out_causal": f32(attention64(q, k, v, scale[0], causal)[0]),
            p + "key_padding": keypad,
            p + "out_keypad": f32(attention64(q, k, v, scale[0], np.where(keypad[None, :] == 1, -np.inf, 0.0))[0]),
            p + "bool_mask": boolm,
            p + "out_boolmask": f32(attention64(q, k, v, scale[0], np.where(boolm == 1, -np.inf, 0.0))[0]),
            p + "float_mask": fmask, p + "out_floatmask": f32(out_f), p + "probs_floatmask": f32(probs_f),
        })
    # a query row that may attend to nothing -> zero output / zero probabilities (not NaN)
    q, k, v = f32(rng.standard_normal((3, 8))), f32(rng.standard_normal((4, 8))), f32(rng.standard_normal((4, 8)))
    boolm = np.array([[0, 1, 0, 0], [1, 1, 1, 1], [0, 0, 1, 1]], np.uint8)
    scale = f32([1.0 / math.sqrt(8)])
    out, probs = attention64(q, k, v, scale[0], np.where(boolm == 1, -np.inf, 0.0))
    assert np.all(out[1] == 0) and np.all(probs[1] == 0)
    t.update({"fullymasked.q": q, "fullymasked.k": k, "fullymasked.v": v, "fullymasked.scale": scale,
              "fullymasked.bool_mask": boolm, "fullymasked.out": f32(out), "fullymasked.probs": f32(probs)})
    write_st(os.path.join(out_dir, "ops_attention.safetensors"), t, "ops_attention")
    return t


# ---------------------------------------------------------------- 3. rmsnorm
def make_rmsnorm(out_dir):
    rng = np.random.default_rng(303)
    t = {}
    for n in (1, 7, 33, 1000):
        N = lambda: rng.standard_normal(n)  # noqa: E731
        x = f32(np.stack([N(), 1e4 + N(), 1e4 * N(), 1e15 * N(), 1e-6 * N(), np.full(n, 3.0)]))
        w = f32(1 + 0.2 * N())
        x64 = x.astype(np.float64)
        y = w.astype(np.float64) * x64 / np.sqrt(np.mean(x64 * x64, axis=-1, keepdims=True) + 1e-6)
        t.update({f"n{n}.x": x, f"n{n}.weight": w, f"n{n}.y_eps1e-06": f32(y), f"n{n}.y_eps1e-06_f64": y})
    write_st(os.path.join(out_dir, "ops_rmsnorm.safetensors"), t, "ops_rmsnorm")


# ---------------------------------------------------------------- 4. positions
def make_positions(out_dir):
    t = {}
    for d in (8, 32, 512):
        s, m = sinusoidal_interleaved(64, d), sinusoidal_marian(64, d)
        # cross-check against the refs README text: col j<d/2 = sin(pos/10000^(2j/d)), col d/2+j = cos(same)
        ang = np.arange(64)[:, None] / np.power(10000.0, 2 * np.arange(d // 2)[None, :] / d)
        assert np.array_equal(m, np.concatenate([np.sin(ang), np.cos(ang)], axis=1))
        assert np.array_equal(m, np.concatenate([s[:, 0::2], s[:, 1::2]], axis=1))
        t.update({f"sinusoidal.d{d}": f32(s), f"sinusoidal.d{d}_f64": s,
                  f"marian.d{d}": f32(m), f"marian.d{d}_f64": m})
    write_st(os.path.join(out_dir, "nn_positions.safetensors"), t, "nn_positions")


# ---------------------------------------------------------------- 5. feed-forward
ACTS = {
    "relu": F.relu,
    "gelu": lambda x: F.gelu(x),  # exact erf
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
}


def make_feed_forward(out_dir):
    g = torch.Generator().manual_seed(505)
    D, FF = 32, 37
    W = lambda o, i: (torch.randn(o, i, generator=g, dtype=torch.float64) / math.sqrt(i) * 1.5).float()  # noqa
    B = lambda o: (0.1 * torch.randn(o, generator=g, dtype=torch.float64)).float()  # noqa: E731
    x = torch.randn(2, 7, D, generator=g, dtype=torch.float64).float()
    t = {"x": npy(x)}
    x64 = x.double()
    for name, act in ACTS.items():
        up_w, up_b, dn_w, dn_b = W(FF, D), B(FF), W(D, FF), B(D)
        y = F.linear(act(F.linear(x64, up_w.double(), up_b.double())), dn_w.double(), dn_b.double())
        p = f"plain_{name}."
        t.update({p + "up.weight": npy(up_w), p + "up.bias": npy(up_b),
                  p + "down.weight": npy(dn_w), p + "down.bias": npy(dn_b), p + "y": npy(y.float())})
        gt_w, up_w, dn_w = W(FF, D), W(FF, D), W(D, FF)
        y = F.linear(act(F.linear(x64, gt_w.double())) * F.linear(x64, up_w.double()), dn_w.double())
        p = f"gated_{name}."
        t.update({p + "gate.weight": npy(gt_w), p + "up.weight": npy(up_w),
                  p + "down.weight": npy(dn_w), p + "y": npy(y.float())})
    write_st(os.path.join(out_dir, "nn_feed_forward.safetensors"), t, "nn_feed_forward")


# ---------------------------------------------------------------- 6. models
V, D, H, FF, NL = 50, 32, 4, 37, 2


def randomize(module):
    """Keep torch's default weight init; randomize biases and LayerNorm gains (refs README)."""
    with torch.no_grad():
        norms = {n for n, m in module.named_modules() if isinstance(m, nn.LayerNorm)}
        for name, prm in module.named_parameters():
            owner, _, leaf = name.rpartition(".")
            if owner in norms and leaf == "weight":
                prm.copy_(1 + 0.2 * torch.randn_like(prm))
            elif leaf.endswith("bias"):  # also MHA's in_proj_bias
                prm.copy_(0.1 * torch.randn_like(prm))
    return module.eval()


def embedding(n):
    e = nn.Embedding(n, D)
    with torch.no_grad():
        e.weight.copy_(0.5 * torch.randn(n, D))
    return e


def padded_ids(L, valid):
    """Two rows of ids in [1, V): row 0 full, row 1 `valid` tokens then pad id 0."""
    ids = torch.randint(1, V, (2, L))
    mask = torch.ones(2, L, dtype=torch.int64)
    ids[1, valid:], mask[1, valid:] = 0, 0
    return ids, mask


def causal_mask(L):
    return torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)  # True = not allowed


def save_model(out_dir, name, module, extra_weights, inputs, expected):
    t = {"weights." + k: npy(v) for k, v in module.state_dict().items()}
    t.update({"weights." + k: npy(v) for k, v in extra_weights.items()})
    t.update({"inputs." + k: npy(v) for k, v in inputs.items()})
    t.update({"expected." + k: npy(v) for k, v in expected.items()})
    write_st(os.path.join(out_dir, f"models_{name}.safetensors"), t, f"models_{name}")


def enc_layer(act, pre):
    return nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation=act, batch_first=True, norm_first=pre)


def make_decoder_pre_gelu(out_dir):
    torch.manual_seed(601)
    m = nn.Module()
    m.embed_tokens, m.embed_positions = embedding(V), embedding(16)
    m.layers = nn.ModuleList([enc_layer("gelu", True) for _ in range(NL)])
    m.norm, m.lm_head = nn.LayerNorm(D), nn.Linear(D, V, bias=False)
    randomize(m)
    ids, mask = padded_ids(9, 6)
    h = m.embed_tokens(ids) + m.embed_positions(torch.arange(9))[None]
    for layer in m.layers:  # autograd on -> torch's math path (no fast-path zeroing of pads)
        h = layer(h, src_mask=causal_mask(9), src_key_padding_mask=mask == 0)
    h = m.norm(h)
    save_model(out_dir, "decoder_pre_gelu", m, {}, {"input_ids": ids, "attention_mask": mask},
               {"last_hidden_state": h, "logits": m.lm_head(h)})


def make_encoder_post_relu(out_dir):
    torch.manual_seed(602)
    m = nn.Module()
    m.embed_tokens = embedding(V)
    m.layers = nn.ModuleList([enc_layer("relu", False) for _ in range(NL)])
    m.classifier = nn.Linear(D, 3)
    randomize(m)
    ids, mask = padded_ids(9, 6)
    pe = torch.from_numpy(f32(sinusoidal_interleaved(9, D)))
    h = m.embed_tokens(ids) * math.sqrt(D) + pe[None]
    for layer in m.layers:
        h = layer(h, src_key_padding_mask=mask == 0)
    save_model(out_dir, "encoder_post_relu", m, {}, {"input_ids": ids, "attention_mask": mask},
               {"last_hidden_state": h, "probs": torch.softmax(m.classifier(h[:, 0, :]), dim=-1)})


def make_seq2seq(out_dir, name, act, pre, seed):
    torch.manual_seed(seed)
    m = randomize(nn.Transformer(D, H, NL, NL, FF, dropout=0.0, activation=act,
                                 batch_first=True, norm_first=pre))
    embed, lm_head = embedding(V), nn.Linear(D, V, bias=False)
    src, smask = padded_ids(11, 6)
    tgt, tmask = padded_ids(7, 4)
    pe = torch.from_numpy(f32(sinusoidal_interleaved(11, D)))
    emb = lambda ids: embed(ids) * math.sqrt(D) + pe[None, : ids.shape[1]]  # noqa: E731
    spad, tpad = smask == 0, tmask == 0
    out = m(emb(src), emb(tgt), tgt_mask=causal_mask(7), src_key_padding_mask=spad,
            tgt_key_padding_mask=tpad, memory_key_padding_mask=spad)
    memory = m.encoder(emb(src), src_key_padding_mask=spad)  # includes encoder.norm
    again = m.decoder(emb(tgt), memory, tgt_mask=causal_mask(7), tgt_key_padding_mask=tpad,
                      memory_key_padding_mask=spad)
    assert torch.equal(out, again)
    save_model(out_dir, name, m, {"embed_tokens.weight": embed.weight, "lm_head.weight": lm_head.weight},
               {"input_ids": src, "attention_mask": smask, "decoder_input_ids": tgt,
                "decoder_attention_mask": tmask},
               {"encoder_last_hidden_state": memory, "last_hidden_state": out, "logits": lm_head(out)})


# ---------------------------------------------------------------- self-checks
def check_attention_vs_torch(t):
    """The float64 reference must agree with torch's float32 softmax path."""
    for c in ["c0.", "c1.", "c2.", "c3.", "c4."]:
        q, k, v = (torch.from_numpy(t[c + n].copy()) for n in "qkv")
        sc = float(t[c + "scale"][0])
        s = q @ k.T * sc + torch.from_numpy(t[c + "float_mask"].copy())
        p = torch.softmax(s, -1)
        err_p = (p.numpy() - t[c + "probs_floatmask"]).__abs__().max()
        err_o = (npy(p @ v) - t[c + "out_floatmask"]).__abs__().max()
        bm = torch.from_numpy(t[c + "bool_mask"].astype(bool))
        o2 = F.softmax((q @ k.T * sc).masked_fill(bm, -math.inf), -1) @ v
        err_b = (npy(o2) - t[c + "out_boolmask"]).__abs__().max()
        print(f"  attention {c} torch-vs-f64 max|d| probs {err_p:.2e} out {err_o:.2e} boolmask {err_b:.2e}")
        assert max(err_p, err_o, err_b) < 2e-4


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(DATA, "fixtures"))
    ap.add_argument("--copy-shared", metavar="DIR",
                    help="copy DIR/refs/torch/* to tests/data/torch/ (tests never read DIR at run time)")
    args = ap.parse_args()
    torch.set_num_threads(1)  # deterministic reductions
    os.makedirs(args.out, exist_ok=True)

    if args.copy_shared:
        src, dst = os.path.join(args.copy_shared, "refs", "torch"), os.path.join(DATA, "torch")
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, copy_function=shutil.copyfile)  # drop the read-only mode
        print(f"copied {src} -> {dst}")

    make_linear(args.out)
    att = make_attention(args.out)
    make_rmsnorm(args.out)
    make_positions(args.out)
    make_feed_forward(args.out)
    make_decoder_pre_gelu(args.out)
    make_encoder_post_relu(args.out)
    make_seq2seq(args.out, "seq2seq_pre_gelu", "gelu", True, 603)
    make_seq2seq(args.out, "seq2seq_post_relu", "relu", False, 604)

    check_attention_vs_torch(att)
    total = 0
    for f in sorted(os.listdir(args.out)):
        if not f.endswith(".safetensors"):
            continue
        path = os.path.join(args.out, f)
        tensors, meta = read_st(path)
        total += os.path.getsize(path)
        for k, a in tensors.items():
            assert a.dtype != np.float32 or not np.isnan(a).any(), (f, k)
        print(f"{f} ({os.path.getsize(path)} bytes, case={meta['case']})")
        for k, a in tensors.items():
            print(f"  {k:40s} {_DT[a.dtype]:4s} {list(a.shape)}")
    print(f"total {total} bytes")
    assert total < 3 * 1024 * 1024


if __name__ == "__main__":
    main()
