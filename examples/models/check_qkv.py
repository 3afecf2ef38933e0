#!/usr/bin/python3
"""Checks the demo models of examples/models/ run by qkv against the torch references that
train_demos.py wrote to tests/data/demos/, using token ids (no tokenizer needed):

  en-es    qkv-translate --ids (greedy) must give torch's greedy output ids for every held-out sentence
  tiny-lm  qkv-generate --greedy --ids must give torch's 12-token continuations
  lang-id  qkv-forward's pooler_output, through the stored classifier, must give torch's logits/labels
  and, for all three, qkv-forward's logits against a torch forward pass of the exported weights
  (reloaded from model.safetensors into train_demos.py's modules).

Usage: /usr/bin/python3 examples/models/check_qkv.py BUILD_DIR   (e.g. build/d; needs the programs
qkv-translate, qkv-generate and qkv-forward built there)
"""

import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "tests", "data", "demos")
sys.path.insert(0, HERE)
import train_demos as td  # noqa: E402

DTYPES = {"F32": np.float32, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def write_int64_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        data = np.ascontiguousarray(a, dtype="<i8").tobytes()
        header[name] = {"dtype": "I64", "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def ids_arg(ids):
    return ",".join(str(i) for i in ids)


def qkv_forward(build, model, inputs):
    with tempfile.TemporaryDirectory() as tmp:
        write_int64_safetensors(os.path.join(tmp, "in.safetensors"), inputs)
        run(os.path.join(build, "examples", "qkv-forward"), "--model", model, "--input", os.path.join(tmp, "in.safetensors"),
            "--output", os.path.join(tmp, "out.safetensors"))
        return read_safetensors(os.path.join(tmp, "out.safetensors"))


def load_into(module, tensors, rename):
    state = {}
    for name, value in tensors.items():
        key = rename(name)
        if key is not None:
            state[key] = torch.tensor(np.array(value))
    missing, unexpected = module.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert all(k in ("positions",) for k in missing), missing
    module.eval()
    return module


def check_en_es(build):
    model = os.path.join(HERE, "en-es")
    ref = json.load(open(os.path.join(DATA, "en_es_torch.json"), encoding="utf-8"))
    same = 0
    for s in ref["sentences"]:
        got = [int(x) for x in run(os.path.join(build, "examples", "qkv-translate"), "--model", model, "--max-new-tokens", "30",
                                   "--ids", ids_arg(s["input_ids"])).split()]
        if got == s["output_ids"]:
            same += 1
        else:
            print(f"en-es MISMATCH {s['english']!r}: qkv {got} torch {s['output_ids']}")
    print(f"en-es: qkv-translate greedy ids equal torch's for {same}/{len(ref['sentences'])} held-out sentences")

    cfg = json.load(open(os.path.join(model, "config.json")))
    torch_model = load_into(td.Marian(dict(cfg)), read_safetensors(os.path.join(model, "model.safetensors")),
                            lambda n: n.replace("model.shared.", "shared.").replace("model.encoder.layers.", "encoder_layers.")
                            .replace("model.decoder.layers.", "decoder_layers."))
    worst = 0.0
    for s in ref["sentences"][:10]:
        src = np.array([s["input_ids"]])
        dec = np.array([[0] + s["output_ids"]])
        out = qkv_forward(build, model, {"input_ids": src, "decoder_input_ids": dec})
        with torch.no_grad():
            t_src = torch.tensor(src)
            enc = torch_model.encode(t_src, torch.ones_like(t_src))
            logits = torch_model.decode(torch.tensor(dec), torch.ones_like(torch.tensor(dec)), enc, torch.ones_like(t_src))
        worst = max(worst, float(np.abs(out["logits"] - logits.numpy()).max()))
    print(f"en-es: qkv-forward logits vs torch, 10 sentences: max abs difference {worst:.2e}")
    return same == len(ref["sentences"])


def check_tiny_lm(build):
    model = os.path.join(HERE, "tiny-lm")
    ref = json.load(open(os.path.join(DATA, "tiny_lm_torch.json"), encoding="utf-8"))
    same = 0
    for p in ref["prompts"]:
        got = [int(x) for x in run(os.path.join(build, "examples", "qkv-generate"), "--model", model, "--greedy", "--print-ids",
                                   "--max-new-tokens", str(ref["max_new_tokens"]), "--ids", ids_arg(p["prompt_ids"])).split()]
        if got == p["output_ids"]:
            same += 1
        else:
            print(f"tiny-lm MISMATCH {p['prompt']!r}: qkv {got} torch {p['output_ids']}")
    print(f"tiny-lm: qkv-generate greedy ids equal torch's for {same}/{len(ref['prompts'])} prompts")

    cfg = json.load(open(os.path.join(model, "config.json")))
    cfg.update({"resid_pdrop": 0.0, "embd_pdrop": 0.0})
    torch_model = load_into(td.GPT2(cfg), read_safetensors(os.path.join(model, "model.safetensors")),
                            lambda n: n[len("transformer."):])
    ids = np.array([ref["prompts"][0]["prompt_ids"] + ref["prompts"][0]["output_ids"]])
    out = qkv_forward(build, model, {"input_ids": ids})
    with torch.no_grad():
        logits = torch_model(torch.tensor(ids))
    print(f"tiny-lm: qkv-forward logits vs torch: max abs difference {float(np.abs(out['logits'] - logits.numpy()).max()):.2e}")
    return same == len(ref["prompts"])


def check_lang_id(build):
    model = os.path.join(HERE, "lang-id")
    ref = json.load(open(os.path.join(DATA, "lang_id_torch.json"), encoding="utf-8"))
    w = read_safetensors(os.path.join(model, "model.safetensors"))
    labels = json.load(open(os.path.join(model, "config.json")))["id2label"]
    same, worst = 0, 0.0
    for s in ref["sentences"]:
        out = qkv_forward(build, model, {"input_ids": np.array([s["input_ids"]])})
        logits = out["pooler_output"][0] @ w["classifier.weight"].T + w["classifier.bias"]
        worst = max(worst, float(np.abs(logits - np.array(s["logits"])).max()))
        same += labels[str(int(np.argmax(logits)))] == s["label"]
    print(f"lang-id: labels from qkv-forward's pooler_output equal torch's for {same}/{len(ref['sentences'])} sentences; "
          f"logits max abs difference {worst:.2e}")
    return same == len(ref["sentences"])


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "d")
    ok = [check_en_es(build), check_tiny_lm(build), check_lang_id(build)]
    sys.exit(0 if all(ok) else 1)


if __name__ == "__main__":
    main()
