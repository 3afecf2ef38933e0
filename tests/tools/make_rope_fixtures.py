#!/usr/bin/python3
"""Generate the rotary-embedding fixtures (tests/data/fixtures/rope_scaling.safetensors, ops_rotary.safetensors).

Run with the system interpreter, which has torch 1.13 and numpy (no transformers):
    /usr/bin/python3 tests/tools/make_rope_fixtures.py [--out DIR]

The references re-implement Hugging Face transformers' formulas in torch float32, written the way
transformers writes them, so torch evaluates them in the same order and precision:
  * inverse frequencies: modeling_rope_utils._compute_default_rope_parameters,
    _compute_linear_scaling_rope_parameters (inv_freq /= factor), _compute_llama3_parameters,
    _compute_yarn_parameters (the v4.5x version: original_max_position_embeddings defaults to
    max_position_embeddings, attention_factor from mscale/mscale_all_dim when both are set, truncate),
    and LlamaDynamicNTKScalingRotaryEmbedding._set_cos_sin_cache (v4.37, seq_len a Python int);
  * application: LlamaRotaryEmbedding.forward (freqs = inv_freq @ position_ids in float32,
    emb = cat(freqs, freqs), cos/sin * attention_scaling) and apply_rotary_pos_emb
    (q * cos + rotate_half(q) * sin).
Each scaling case is also recomputed in float64 numpy and must agree within 1e-6 relative, a check
that the float32 formulas say what the float64 math says.

It also writes small LLaMA folders, tests/data/fixtures/llama_<variant>/ (config.json,
model.safetensors, inputs.safetensors, expected.safetensors), for what the shared HF references do
not cover: head_dim != hidden_size / heads, attention and MLP biases, and rope_scaling inside a
model. Their outputs come from `llama_forward`, a torch re-implementation of transformers v4.37
LlamaForCausalLM (eager attention) with the rotary formulas above. Before writing anything, it
must reproduce the real transformers outputs of tests/data/hf/llama_a and llama_gqa within
1e-5 * (1 + |ref|). Seeded: reruns are byte-identical.
"""
import argparse
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "data"))

_DT = {np.dtype(np.float64): "F64", np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}


def write_st(path, tensors, metadata):
    """Standard safetensors; tensors ordered by decreasing element size (each aligned to its size)."""
    items = sorted(((k, np.ascontiguousarray(v)) for k, v in tensors.items()), key=lambda kv: -kv[1].dtype.itemsize)
    header, blobs, off = {}, [], 0
    for k, v in items:
        b = v.astype(v.dtype.newbyteorder("<"), copy=False).tobytes()
        header[k] = {"dtype": _DT[v.dtype], "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---------------------------------------------------------------- HF formulas, torch float32
def default_inv_freq(base, dim):
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def linear_inv_freq(base, dim, rs):
    inv_freq = default_inv_freq(base, dim)
    inv_freq /= rs["factor"]
    return inv_freq, 1.0


def dynamic_inv_freq(base, dim, max_position_embeddings, rs, seq_len):
    factor = rs["factor"]
    if seq_len > max_position_embeddings:
        base = base * ((factor * seq_len / max_position_embeddings) - (factor - 1)) ** (dim / (dim - 2))
    return 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)), 1.0


def llama3_inv_freq(base, dim, rs):
    inv_freq = default_inv_freq(base, dim)
    factor = rs["factor"]
    low_freq_factor = rs["low_freq_factor"]
    high_freq_factor = rs["high_freq_factor"]
    old_context_len = rs["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama), 1.0


def yarn_get_mscale(scale, mscale=1):
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def yarn_params(base, dim, max_position_embeddings, rs):
    """The scalars of _compute_yarn_parameters: factor, attention_factor, low, high."""
    factor = rs["factor"]
    attention_factor = rs.get("attention_factor")
    mscale, mscale_all_dim = rs.get("mscale"), rs.get("mscale_all_dim")
    original = rs.get("original_max_position_embeddings") or max_position_embeddings
    if attention_factor is None:
        if mscale and mscale_all_dim:
            attention_factor = float(yarn_get_mscale(factor, mscale) / yarn_get_mscale(factor, mscale_all_dim))
        else:
            attention_factor = yarn_get_mscale(factor)
    beta_fast = rs.get("beta_fast") or 32
    beta_slow = rs.get("beta_slow") or 1

    def find_correction_dim(num_rotations):
        return (dim * math.log(original / (num_rotations * 2 * math.pi))) / (2 * math.log(base))

    low, high = find_correction_dim(beta_fast), find_correction_dim(beta_slow)
    if rs.get("truncate", True):
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001  # Prevent singularity
    return factor, attention_factor, low, high


def yarn_inv_freq(base, dim, max_position_embeddings, rs):
    factor, attention_factor, low, high = yarn_params(base, dim, max_position_embeddings, rs)
    pos_freqs = base ** (torch.arange(0, dim, 2).to(dtype=torch.float) / dim)
    inv_freq_extrapolation = 1.0 / pos_freqs
    inv_freq_interpolation = 1.0 / (factor * pos_freqs)
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    inv_freq_extrapolation_factor = 1 - ramp
    inv_freq = (inv_freq_interpolation * (1 - inv_freq_extrapolation_factor)
                + inv_freq_extrapolation * inv_freq_extrapolation_factor)
    return inv_freq, attention_factor


def hf_inv_freq(case):
    dim, base, max_pos = case["head_dim"], case["rope_theta"], case["max_position_embeddings"]
    rs = case.get("rope_scaling")
    kind = None if rs is None else rs.get("rope_type", rs.get("type"))
    if kind in (None, "default"):
        return default_inv_freq(base, dim), 1.0
    if kind == "linear":
        return linear_inv_freq(base, dim, rs)
    if kind == "dynamic":
        return dynamic_inv_freq(base, dim, max_pos, rs, case["seq_len"])
    if kind == "llama3":
        return llama3_inv_freq(base, dim, rs)
    if kind == "yarn":
        return yarn_inv_freq(base, dim, max_pos, rs)
    raise ValueError(kind)


# ---------------------------------------------------------------- the same in float64 numpy
def f64_inv_freq(case):
    dim, base, max_pos = case["head_dim"], float(case["rope_theta"]), case["max_position_embeddings"]
    rs = case.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    e = np.arange(0, dim, 2, dtype=np.float64) / dim
    if kind == "dynamic" and case["seq_len"] > max_pos:
        f = rs["factor"]
        base = base * (f * case["seq_len"] / max_pos - (f - 1)) ** (dim / (dim - 2))
    inv = 1.0 / base ** e
    if kind == "linear":
        inv = inv / rs["factor"]
    elif kind == "llama3":
        f, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        wl = 2 * np.pi / inv
        smooth = (old / wl - lo) / (hi - lo)
        inv = np.where(wl < old / hi, inv, np.where(wl > old / lo, inv / f, (1 - smooth) * inv / f + smooth * inv))
    elif kind == "yarn":
        f, _, low, high = yarn_params(base, dim, max_pos, rs)
        ramp = np.clip((np.arange(dim // 2) - low) / (high - low), 0, 1)
        inv = inv / f * ramp + inv * (1 - ramp)
    return inv


# Each case: the config.json fields the embedding reads, plus seq_len (max(position_ids) + 1) for dynamic.
CASES = {
    "default_d8_t1e4": {"head_dim": 8, "rope_theta": 10000.0, "max_position_embeddings": 128, "rope_scaling": None},
    "default_d8_t5e5": {"head_dim": 8, "rope_theta": 500000.0, "max_position_embeddings": 128, "rope_scaling": None},
    "default_d128_t5e5": {"head_dim": 128, "rope_theta": 500000.0, "max_position_embeddings": 8192,
                          "rope_scaling": {"rope_type": "default"}},
    # legacy "type" key (configs saved before transformers 4.42)
    "linear_f4_d64": {"head_dim": 64, "rope_theta": 10000.0, "max_position_embeddings": 4096,
                      "rope_scaling": {"type": "linear", "factor": 4.0}},
    "linear_f2.5_d128": {"head_dim": 128, "rope_theta": 10000.0, "max_position_embeddings": 4096,
                         "rope_scaling": {"rope_type": "linear", "factor": 2.5}},
    "dynamic_f2_d64_len100": {"head_dim": 64, "rope_theta": 10000.0, "max_position_embeddings": 128,
                              "rope_scaling": {"type": "dynamic", "factor": 2.0}, "seq_len": 100},
    "dynamic_f2_d64_len128": {"head_dim": 64, "rope_theta": 10000.0, "max_position_embeddings": 128,
                              "rope_scaling": {"type": "dynamic", "factor": 2.0}, "seq_len": 128},
    "dynamic_f2_d64_len129": {"head_dim": 64, "rope_theta": 10000.0, "max_position_embeddings": 128,
                              "rope_scaling": {"type": "dynamic", "factor": 2.0}, "seq_len": 129},
    "dynamic_f3.5_d128_len5000": {"head_dim": 128, "rope_theta": 10000.0, "max_position_embeddings": 2048,
                                  "rope_scaling": {"rope_type": "dynamic", "factor": 3.5}, "seq_len": 5000},
    # Llama 3.1's own settings
    "llama3_d128": {"head_dim": 128, "rope_theta": 500000.0, "max_position_embeddings": 131072,
                    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}},
    # a small context, so that many dimensions fall in the blended band
    "llama3_d64_small": {"head_dim": 64, "rope_theta": 10000.0, "max_position_embeddings": 1024,
                         "rope_scaling": {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0,
                                          "high_freq_factor": 4.0, "original_max_position_embeddings": 256}},
    # Qwen2.5 style
    "yarn_d128_qwen": {"head_dim": 128, "rope_theta": 1000000.0, "max_position_embeddings": 131072,
                       "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}},
    # no original_max_position_embeddings (= max_position_embeddings), other betas
    "yarn_d64_betas": {"head_dim": 64, "rope_theta": 10000.0, "max_position_embeddings": 4096,
                       "rope_scaling": {"type": "yarn", "factor": 8.0, "beta_fast": 16, "beta_slow": 2}},
    "yarn_d64_attention_factor": {"head_dim": 64, "rope_theta": 10000.0, "max_position_embeddings": 4096,
                                  "rope_scaling": {"rope_type": "yarn", "factor": 2.0, "attention_factor": 0.9,
                                                   "original_max_position_embeddings": 2048}},
    # DeepSeek style: the attention factor is a ratio of two mscales
    "yarn_d64_mscale": {"head_dim": 64, "rope_theta": 10000.0, "max_position_embeddings": 163840,
                        "rope_scaling": {"rope_type": "yarn", "factor": 40.0, "mscale": 1.0, "mscale_all_dim": 0.707,
                                         "beta_fast": 32, "beta_slow": 1, "original_max_position_embeddings": 4096}},
    # gpt-oss style: no truncation of the ramp
    "yarn_d64_notruncate": {"head_dim": 64, "rope_theta": 150000.0, "max_position_embeddings": 131072,
                            "rope_scaling": {"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0, "beta_slow": 1.0,
                                             "original_max_position_embeddings": 4096, "truncate": False}},
}


def make_rope_scaling(out_dir):
    tensors, meta = {}, {"case": "rope_scaling"}
    for name, case in CASES.items():
        inv, attention_factor = hf_inv_freq(case)
        inv = inv.numpy().astype(np.float32)
        ref = f64_inv_freq(case)
        rel = np.max(np.abs(inv - ref) / np.abs(ref))
        print(f"  {name:28s} float32 vs float64 max rel {rel:.2e}  attention_factor {attention_factor:.6f}")
        assert rel < 1e-6, name
        tensors[f"{name}.inv_freq"] = inv
        tensors[f"{name}.attention_factor"] = np.array([attention_factor], dtype=np.float64)
        meta[name] = json.dumps(case, sort_keys=True)
    write_st(os.path.join(out_dir, "rope_scaling.safetensors"), tensors, meta)


# ---------------------------------------------------------------- application
def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def hf_cos_sin(inv_freq, position_ids, attention_scaling=1.0):
    """LlamaRotaryEmbedding.forward: position_ids [B, L] -> cos, sin [B, L, dim]."""
    inv_freq_expanded = inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
    position_ids_expanded = position_ids[:, None, :].float()
    freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * attention_scaling, emb.sin() * attention_scaling


def make_ops_rotary(out_dir):
    g = torch.Generator().manual_seed(1234)
    t = {}
    # One sequence of 9 rows, 3 heads of 16 features, positions up to 70000.
    positions = torch.tensor([[0, 1, 2, 5, 13, 100, 4095, 8191, 70000]])
    x = torch.randn(1, 3, 9, 16, generator=g)  # [B, H, L, hd] as HF holds q
    inv = default_inv_freq(10000.0, 16)
    t["x"] = x[0].transpose(0, 1).reshape(9, 48).numpy()  # qkv's [L, H * hd]
    t["positions"] = positions[0].numpy()
    t["inv_freq"] = inv.numpy()
    for label, scaling in (("", 1.0), ("_af1.25", 1.25)):
        cos, sin = hf_cos_sin(inv, positions, scaling)
        y = x * cos[:, None] + rotate_half(x) * sin[:, None]  # apply_rotary_pos_emb, unsqueeze_dim=1
        t["cos" + label] = cos[0, :, :8].numpy()
        t["sin" + label] = sin[0, :, :8].numpy()
        t["y" + label] = y[0].transpose(0, 1).reshape(9, 48).numpy()
    # Partial rotary (GPT-NeoX's rotary_pct): only the first 8 features of each head are rotated.
    inv8 = default_inv_freq(10000.0, 8)
    cos, sin = hf_cos_sin(inv8, positions)
    x_rot, x_pass = x[..., :8], x[..., 8:]
    y = torch.cat((x_rot * cos[:, None] + rotate_half(x_rot) * sin[:, None], x_pass), dim=-1)
    t["partial.inv_freq"] = inv8.numpy()
    t["partial.y"] = y[0].transpose(0, 1).reshape(9, 48).numpy()
    # Grouped-query q [2, 5, 4 heads x 8] and k [2, 5, 2 heads x 8] at per-row positions, theta 5e5,
    # YaRN-like attention scaling 1.1: what MultiHeadAttention's rotary step must produce.
    pos = torch.tensor([[0, 1, 2, 3, 4], [7, 8, 9, 10, 11]])
    q = torch.randn(2, 4, 5, 8, generator=g)
    k = torch.randn(2, 2, 5, 8, generator=g)
    inv = default_inv_freq(500000.0, 8)
    cos, sin = hf_cos_sin(inv, pos, 1.1)
    q_rot = q * cos[:, None] + rotate_half(q) * sin[:, None]
    k_rot = k * cos[:, None] + rotate_half(k) * sin[:, None]
    t["gqa.positions"] = pos.numpy()
    t["gqa.inv_freq"] = inv.numpy()
    t["gqa.q"] = q.transpose(1, 2).reshape(2, 5, 32).numpy()
    t["gqa.k"] = k.transpose(1, 2).reshape(2, 5, 16).numpy()
    t["gqa.q_rot"] = q_rot.transpose(1, 2).reshape(2, 5, 32).numpy()
    t["gqa.k_rot"] = k_rot.transpose(1, 2).reshape(2, 5, 16).numpy()
    write_st(os.path.join(out_dir, "ops_rotary.safetensors"), t, {"case": "ops_rotary"})


# ---------------------------------------------------------------- LlamaForCausalLM
def read_st(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    header.pop("__metadata__", None)
    np_dtype = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for k, e in header.items():
        a, b = e["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(buf[8 + n + a:8 + n + b], dtype=np_dtype[e["dtype"]]).reshape(e["shape"]).copy())
    return out


def rms_norm(x, weight, eps):  # LlamaRMSNorm
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def llama_forward(w, cfg, ids, mask):
    """transformers v4.37 LlamaForCausalLM.forward (eager), position_ids = 0..L-1 -> logits, last hidden."""
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads") or heads
    hd = cfg.get("head_dim") or hidden // heads
    eps = cfg["rms_norm_eps"]
    bsz, length = ids.shape
    position_ids = torch.arange(length)[None].expand(bsz, length)
    # Dynamic NTK sizes its table from max(position_ids) + 1 (v4.37: kv_seq_len); the others ignore it.
    inv_freq, attention_scaling = hf_inv_freq({"head_dim": hd, "rope_theta": cfg["rope_theta"],
                                               "max_position_embeddings": cfg["max_position_embeddings"],
                                               "rope_scaling": cfg.get("rope_scaling"), "seq_len": length})
    cos, sin = hf_cos_sin(inv_freq, position_ids, attention_scaling)
    cos, sin = cos[:, None], sin[:, None]  # [B, 1, L, hd]
    # _prepare_4d_causal_attention_mask: finfo.min above the diagonal and at padded keys.
    blocked = torch.triu(torch.ones(length, length, dtype=torch.bool), 1)[None, None] | (mask == 0)[:, None, None, :]
    additive = torch.zeros(bsz, 1, length, length).masked_fill(blocked, torch.finfo(torch.float32).min)

    def linear(h, name):
        return F.linear(h, w[name + ".weight"], w.get(name + ".bias"))

    x = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = linear(h, p + "self_attn.q_proj").view(bsz, length, heads, hd).transpose(1, 2)
        k = linear(h, p + "self_attn.k_proj").view(bsz, length, kv_heads, hd).transpose(1, 2)
        v = linear(h, p + "self_attn.v_proj").view(bsz, length, kv_heads, hd).transpose(1, 2)
        q = (q * cos) + (rotate_half(q) * sin)  # apply_rotary_pos_emb
        k = (k * cos) + (rotate_half(k) * sin)
        k = k.repeat_interleave(heads // kv_heads, dim=1)  # repeat_kv: query head j uses kv head j // n_rep
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(hd) + additive
        probs = F.softmax(scores, dim=-1, dtype=torch.float32)
        o = torch.matmul(probs, v).transpose(1, 2).reshape(bsz, length, heads * hd)
        x = x + linear(o, p + "self_attn.o_proj")
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        x = x + linear(F.silu(linear(h, p + "mlp.gate_proj")) * linear(h, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"]) if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return F.linear(x, head), x


def check_against_transformers():
    """llama_forward must reproduce the real transformers outputs before it makes references."""
    for case in ("llama_a", "llama_gqa"):
        folder = os.path.join(DATA, "hf", case)
        with open(os.path.join(folder, "config.json")) as f:
            cfg = json.load(f)
        w = read_st(os.path.join(folder, "model.safetensors"))
        inputs, expected = read_st(os.path.join(folder, "inputs.safetensors")), read_st(os.path.join(folder, "expected.safetensors"))
        for g in ("single", "batch"):
            mask = inputs[g + ".attention_mask"]
            logits, last = llama_forward(w, cfg, inputs[g + ".input_ids"], mask)
            for name, got in (("logits", logits), ("last_hidden_state", last)):
                ref = expected[f"{g}.{name}"]
                err = ((got - ref).abs() / (1 + ref.abs()))[mask.bool()].max().item()
                print(f"  llama_forward vs transformers {case} {g}.{name}: {err:.2e}")
                assert err < 1e-5, (case, g, name)


LLAMA_BASE = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu", "vocab_size": 97,
    "hidden_size": 32, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 4, "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
    "rope_scaling": None, "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": False,
    "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32",
}

LLAMA_VARIANTS = {
    # q_proj [4 * 16, 32]: heads * head_dim != hidden_size; GQA 4/2; biases; YaRN (attention factor); tied.
    "llama_headdim_yarn": {"num_key_value_heads": 2, "head_dim": 16, "attention_bias": True, "mlp_bias": True,
                           "tie_word_embeddings": True,
                           "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32}},
    # max_position_embeddings 8: the 13-token batch is past it, so dynamic NTK changes the base there
    # (and only there: the 7-token single sequence uses the default table).
    "llama_dynamic": {"max_position_embeddings": 8, "rope_scaling": {"type": "dynamic", "factor": 2.0}},
    # original context 16 with head_dim 8: one frequency in the blended band, the others divided by factor.
    "llama_llama3": {"num_key_value_heads": 1, "rope_theta": 10000.0,
                     "rope_scaling": {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0,
                                      "high_freq_factor": 4.0, "original_max_position_embeddings": 16}},
}


def make_llama_variant(out_dir, name, overrides, seed):
    cfg = dict(LLAMA_BASE, **overrides)
    g = torch.Generator().manual_seed(seed)
    hidden, heads, ffn, vocab = cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"], cfg["vocab_size"]
    kv_heads, hd = cfg["num_key_value_heads"], cfg.get("head_dim") or hidden // heads

    def normal(*shape):
        return torch.randn(*shape, generator=g)

    # The shared refs' init, so that every parameter matters: gains 1+0.2N, biases 0.1N,
    # weights 1.5N/sqrt(fan_in), embeddings 0.25N.
    w = {"model.embed_tokens.weight": 0.25 * normal(vocab, hidden)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes = {"self_attn.q_proj": (heads * hd, hidden), "self_attn.k_proj": (kv_heads * hd, hidden),
                  "self_attn.v_proj": (kv_heads * hd, hidden), "self_attn.o_proj": (hidden, heads * hd),
                  "mlp.gate_proj": (ffn, hidden), "mlp.up_proj": (ffn, hidden), "mlp.down_proj": (hidden, ffn)}
        for n, (o, k) in shapes.items():
            w[p + n + ".weight"] = 1.5 * normal(o, k) / math.sqrt(k)
            if cfg["attention_bias"] if n.startswith("self_attn") else cfg["mlp_bias"]:
                w[p + n + ".bias"] = 0.1 * normal(o)
        w[p + "input_layernorm.weight"] = 1 + 0.2 * normal(hidden)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.2 * normal(hidden)
    w["model.norm.weight"] = 1 + 0.2 * normal(hidden)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = 1.5 * normal(vocab, hidden) / math.sqrt(hidden)

    # As the shared refs: BOS + ids; a right-padded batch of 13 + (7 + 6 pads).
    single = torch.cat((torch.tensor([[1]]), torch.randint(3, vocab, (1, 6), generator=g)), dim=1)
    batch = torch.cat((torch.tensor([[1], [1]]), torch.randint(3, vocab, (2, 12), generator=g)), dim=1)
    batch_mask = torch.ones(2, 13, dtype=torch.int64)
    batch[1, 7:], batch_mask[1, 7:] = 0, 0
    inputs = {"single.input_ids": single, "single.attention_mask": torch.ones(1, 7, dtype=torch.int64),
              "batch.input_ids": batch, "batch.attention_mask": batch_mask}
    expected = {}
    for grp in ("single", "batch"):
        logits, last = llama_forward(w, cfg, inputs[grp + ".input_ids"], inputs[grp + ".attention_mask"])
        expected[grp + ".logits"], expected[grp + ".last_hidden_state"] = logits, last

    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    write_st(os.path.join(folder, "model.safetensors"), {k: v.numpy() for k, v in w.items()}, {"format": "pt"})
    write_st(os.path.join(folder, "inputs.safetensors"), {k: v.numpy() for k, v in inputs.items()}, {"case": name})
    write_st(os.path.join(folder, "expected.safetensors"), {k: v.detach().numpy() for k, v in expected.items()},
             {"case": name, "source": "tests/tools/make_rope_fixtures.py llama_forward (not transformers)"})
    print(f"  {name}: {sum(v.numel() for v in w.values())} parameters")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(DATA, "fixtures"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    make_rope_scaling(args.out)
    make_ops_rotary(args.out)
    check_against_transformers()
    for seed, (name, overrides) in enumerate(LLAMA_VARIANTS.items(), start=700):
        make_llama_variant(args.out, name, overrides, seed)
    for f in ("rope_scaling.safetensors", "ops_rotary.safetensors"):
        print(f"{f}: {os.path.getsize(os.path.join(args.out, f))} bytes")


if __name__ == "__main__":
    main()
