#!/usr/bin/python3
"""Converts SentencePiece .model files to tokenizer.json, and records the ids
python3-sentencepiece (Debian) gives for the hard strings.

  convert_spm.py unigram <model> <out_dir>   T5-style Unigram tokenizer.json
  convert_spm.py llama2  <model> <out_dir>   LLaMA-2-style byte-fallback BPE tokenizer.json

Each out_dir receives tokenizer.json, the .model (copied as spm.model) and
spm_expected.json (sp.encode / sp.decode / pieces for every hard string).

The .model protobuf is read by the small hand-written reader below (no
generated sentencepiece_model_pb2 needed). The tokenizer.json layout follows
the semantics of transformers' convert_slow_tokenizer.py:
  * unigram: SpmConverter/T5Converter as of transformers 4.3x-4.4x:
      normalizer    Sequence[Precompiled(charsmap), Replace(Regex " {2,}" -> " ")]
      pre_tokenizer Metaspace(replacement "▁", prepend_scheme "always", split true)
      model         Unigram(vocab [[piece, score]], unk_id)
      decoder       Metaspace(same)
      post          TemplateProcessing "$A </s>" / "$A </s> $B </s>"
      added tokens  control pieces (<s>, </s>) and <unk>, special, normalized false
    (Newer converters write Sequence[Precompiled, Strip(right), Replace(" {2,}" -> "▁")]
    instead; the older form is what most Hub files of T5-era models carry.)
  * llama2: LlamaConverter / the real meta-llama/Llama-2-7b-hf tokenizer.json:
      normalizer    Sequence[Prepend("▁"), Replace(" " -> "▁")], no pre_tokenizer
      model         BPE(byte_fallback true, fuse_unk true, unk "<unk>"), merges
                    recovered from the vocabulary (every split of a piece into two
                    pieces, ordered by the merged piece's score, then by the ids of
                    the two halves)
      decoder       Sequence[Replace("▁" -> " "), ByteFallback, Fuse, Strip(" ", 1, 0)]
      post          TemplateProcessing "<s> $A" / "<s> $A <s> $B"
"""
import base64
import json
import os
import shutil
import struct
import sys

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))


# ------------------------------------------------------------ protobuf reader --
def _varint(buf, pos):
    result = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def parse_message(buf):
    """Returns {field_number: [raw values]}; varints as int, fixed32/64 as bytes, LEN as bytes."""
    fields = {}
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.setdefault(field, []).append(val)
    return fields


def _last(fields, num, default):
    return fields[num][-1] if num in fields else default


def read_model(path):
    """The parts of sentencepiece_model.proto ModelProto that the converters use."""
    with open(path, "rb") as f:
        top = parse_message(f.read())
    pieces = []
    for raw in top.get(1, []):  # repeated SentencePiece pieces = 1
        p = parse_message(raw)
        pieces.append({
            "piece": _last(p, 1, b"").decode("utf-8"),                          # string piece = 1
            "score": struct.unpack("<f", _last(p, 2, b"\0\0\0\0"))[0],          # float score = 2
            "type": _last(p, 3, 1),                                             # Type type = 3 (NORMAL=1)
        })
    ts = parse_message(_last(top, 2, b""))  # TrainerSpec trainer_spec = 2
    ns = parse_message(_last(top, 3, b""))  # NormalizerSpec normalizer_spec = 3
    trainer = {
        "model_type": _last(ts, 3, 1),        # UNIGRAM=1, BPE=2
        "vocab_size": _last(ts, 4, 8000),
        "byte_fallback": bool(_last(ts, 35, 0)),
        "unk_id": _last(ts, 40, 0),
        "bos_id": _signed(_last(ts, 41, 1)),
        "eos_id": _signed(_last(ts, 42, 2)),
        "pad_id": _signed(_last(ts, 43, -1)),
        "unk_piece": _last(ts, 45, b"<unk>").decode(),
        "bos_piece": _last(ts, 46, b"<s>").decode(),
        "eos_piece": _last(ts, 47, b"</s>").decode(),
    }
    normalizer = {
        "name": _last(ns, 1, b"").decode(),
        "precompiled_charsmap": _last(ns, 2, b""),
        "add_dummy_prefix": bool(_last(ns, 3, 1)),
        "remove_extra_whitespaces": bool(_last(ns, 4, 1)),
        "escape_whitespaces": bool(_last(ns, 5, 1)),
    }
    return pieces, trainer, normalizer


def _signed(v):
    return v - (1 << 64) if v >= (1 << 63) else v


# ------------------------------------------------------------- converters --
def added(id_, content, special=True):
    return {"id": id_, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


def spm_added_tokens(pieces, trainer):
    out = []
    for i, p in enumerate(pieces):
        if p["type"] in (3, 4) or i == trainer["unk_id"]:  # CONTROL, USER_DEFINED, and the unk piece
            out.append(added(i, p["piece"], special=(p["type"] != 4)))
    return out


def convert_unigram(pieces, trainer, normalizer):
    assert trainer["model_type"] == 1, "not a Unigram model"
    charsmap = normalizer["precompiled_charsmap"]
    assert charsmap, "expected a precompiled charsmap (nmt_nfkc)"
    eos = trainer["eos_piece"]
    eos_id = next(i for i, p in enumerate(pieces) if p["piece"] == eos)
    metaspace = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": spm_added_tokens(pieces, trainer),
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        "pre_tokenizer": metaspace,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}}],
            "special_tokens": {eos: {"id": eos, "ids": [eos_id], "tokens": [eos]}},
        },
        "decoder": dict(metaspace),
        "model": {
            "type": "Unigram",
            "unk_id": trainer["unk_id"],
            "vocab": [[p["piece"], p["score"]] for p in pieces],
            "byte_fallback": False,
        },
    }


def recover_merges(pieces):
    ids = {p["piece"]: i for i, p in enumerate(pieces)}
    merges = []
    for i, p in enumerate(pieces):
        if p["type"] != 1:  # only NORMAL pieces are produced by merging
            continue
        s = p["piece"]
        local = []
        for k in range(1, len(s)):
            l, r = s[:k], s[k:]
            if l in ids and r in ids:
                local.append((ids[l], ids[r], l, r))
        local.sort()
        merges += [(p["score"], i, l, r) for _, _, l, r in local]
    # Higher score first; ties (stable) keep piece order.
    merges.sort(key=lambda m: (-m[0], m[1]))
    return [[l, r] for _, _, l, r in merges]


def convert_llama2(pieces, trainer, normalizer):
    assert trainer["model_type"] == 2, "not a BPE model"
    assert trainer["byte_fallback"], "expected --byte_fallback=true"
    bos = trainer["bos_piece"]
    bos_id = trainer["bos_id"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(i, p["piece"]) for i, p in enumerate(pieces) if p["type"] in (2, 3)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
        ]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}},
        },
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0},
        ]},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": trainer["unk_piece"],
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": {p["piece"]: i for i, p in enumerate(pieces)},
            "merges": recover_merges(pieces),
        },
    }


def spm_refs(model_path, out_dir):
    sp = spm.SentencePieceProcessor(model_file=model_path)
    with open(os.path.join(HERE, "hard_strings.json"), encoding="utf-8") as f:
        strings = json.load(f)["strings"]
    cases = []
    for s in strings:
        ids = sp.encode(s["text"])
        c = {"id": s["id"], "category": s["category"], "text": s["text"]}
        if "hex" in s:
            c["hex"] = s["hex"]
        c["ids"] = ids
        c["pieces"] = [sp.id_to_piece(i) for i in ids]
        c["decode"] = sp.decode(ids)
        cases.append(c)
    body = ",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in cases)
    head = json.dumps({
        "model": os.path.basename(model_path),
        "generator": "tests/tools/tokenizer_refs/convert_spm.py",
        "sentencepiece_version": spm.__version__,
        "note": "ids = SentencePieceProcessor.encode(text) (no BOS/EOS), decode = decode(ids); "
                "python3-sentencepiece from Debian",
    }, ensure_ascii=False, separators=(",", ":"))[:-1]
    with open(os.path.join(out_dir, "spm_expected.json"), "w", encoding="utf-8") as f:
        f.write(head + ',"cases":[\n' + body + "\n]}\n")
    return len(cases)


def main():
    kind, model_path, out_dir = sys.argv[1:4]
    pieces, trainer, normalizer = read_model(model_path)
    # Cross-check the hand-written reader against the sentencepiece library.
    sp = spm.SentencePieceProcessor(model_file=model_path)
    assert sp.get_piece_size() == len(pieces)
    for i, p in enumerate(pieces):
        assert sp.id_to_piece(i) == p["piece"], i
        assert abs(sp.get_score(i) - p["score"]) < 1e-6, i
    assert sp.unk_id() == trainer["unk_id"] and sp.bos_id() == trainer["bos_id"] and sp.eos_id() == trainer["eos_id"]
    tok = convert_unigram(pieces, trainer, normalizer) if kind == "unigram" else convert_llama2(pieces, trainer, normalizer)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=2)
        f.write("\n")
    shutil.copyfile(model_path, os.path.join(out_dir, "spm.model"))
    n = spm_refs(model_path, out_dir)
    print(f"{out_dir}: {len(pieces)} pieces, normalizer {normalizer['name']!r}, "
          f"charsmap {len(normalizer['precompiled_charsmap'])} bytes, {n} spm reference cases")


if __name__ == "__main__":
    main()
