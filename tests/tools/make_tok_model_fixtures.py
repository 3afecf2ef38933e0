#!/usr/bin/env python3
"""Writes the small hand-made tokenizer.json files under tests/data/tokenize/models/ that the
model, added-token, post-processor and decoder tests use. Expected outputs come from the npm
`tokenizers` package: run tests/tools/tok_model_expectations.js afterwards."""
import json
import os

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "tokenize", "models")


def added(id_, content, special=True, normalized=None, lstrip=False, rstrip=False, single_word=False):
    return {"id": id_, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": (not special) if normalized is None else normalized, "special": special}


def tokenizer(model, added_tokens=(), post=None, decoder=None, normalizer=None, pre=None, **extra):
    t = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": list(added_tokens),
         "normalizer": normalizer, "pre_tokenizer": pre, "post_processor": post, "decoder": decoder, "model": model}
    t.update(extra)
    return t


def write(name, obj):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def bpe_vocab(chars, merges, specials=()):
    vocab = {}
    for s in list(specials) + list(chars):
        vocab.setdefault(s, len(vocab))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return vocab


# LLaMA-style: byte fallback, unknown fused, "▁" spaces, SentencePiece decoder chain.
chars = list("▁abcdehlnorstwéü") + ["<0x%02X>" % b for b in (0x0A, 0xE4, 0xB8, 0x80, 0xF0, 0x9F, 0x98, 0x80)]
merges = [("▁", "t"), ("h", "e"), ("▁t", "he"), ("l", "l"), ("e", "ll"), ("ell", "o"), ("▁", "w"),
          ("o", "r"), ("▁w", "or"), ("l", "d"), ("▁wor", "ld"), ("a", "b"), ("ab", "c"), ("▁", "h")]
vocab = bpe_vocab(chars, merges, ["<unk>", "<s>", "</s>"])
write("bpe_byte_fallback.json", tokenizer(
    {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
     "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
     "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")],
    post={"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                                   {"Sequence": {"id": "A", "type_id": 0}}],
          "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"Sequence": {"id": "B", "type_id": 1}}],
          "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
    decoder={"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
        {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}))

# Unknown characters not fused, merges as pairs, no unk token variant below.
write("bpe_unk_unfused.json", tokenizer(
    {"type": "BPE", "dropout": None, "unk_token": "<unk>", "fuse_unk": False, "byte_fallback": False,
     "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}))

# Subword prefix and end-of-word suffix, no unknown token (unknown characters vanish).
suffix_chars = ["a", "b", "c", "d", "##a", "##b", "##c", "##d", "a</w>", "##b</w>", "##c</w>", "##d</w>", "d</w>"]
suffix_merges = [("a", "##b"), ("ab", "##c"), ("##c", "##d</w>"), ("a", "##b</w>"), ("##b", "##c"), ("c", "##d</w>")]
suffix_vocab = {}
for s in suffix_chars + ["ab", "abc", "##cd</w>", "ab</w>", "##bc", "cd</w>"]:
    suffix_vocab.setdefault(s, len(suffix_vocab))
write("bpe_prefix_suffix.json", tokenizer(
    {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "##",
     "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False, "vocab": suffix_vocab,
     "merges": [a + " " + b for a, b in suffix_merges]},
    decoder={"type": "BPEDecoder", "suffix": "</w>"}))

# LLaMA-3 style: byte-level alphabet, ignore_merges (a whole word in the vocab wins).
bl_chars = list("Ġabcdehlorw") 
bl_merges = [("h", "e"), ("l", "l"), ("he", "ll"), ("Ġ", "w"), ("o", "r")]
bl_vocab = bpe_vocab(bl_chars, bl_merges)
bl_vocab["hello"] = len(bl_vocab)
bl_vocab["Ġworld"] = len(bl_vocab)
write("bpe_ignore_merges.json", tokenizer(
    {"type": "BPE", "dropout": None, "unk_token": None, "fuse_unk": False, "byte_fallback": False,
     "ignore_merges": True, "vocab": bl_vocab, "merges": [a + " " + b for a, b in bl_merges]},
    [added(len(bl_vocab), "<|end|>")],
    post={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
    decoder={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}))

# BERT-like WordPiece without normalizer / pre-tokenizer: the whole segment is one word.
wp_tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "aff", "##a", "a", "##b",
             "b", "ab", ".", "##.", "do", "not", "n't", "'", "##s", "s", "é", "##é"]
write("wordpiece.json", tokenizer(
    {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
     "max_input_chars_per_word": 8, "vocab": {t: i for i, t in enumerate(wp_tokens)}},
    [added(0, "[PAD]"), added(1, "[UNK]"), added(2, "[CLS]"), added(3, "[SEP]"),
     added(4, "[MASK]", lstrip=True), added(len(wp_tokens), "xyz", special=False)],
    post={"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
    decoder={"type": "WordPiece", "prefix": "##", "cleanup": True}))

# Unigram: byte fallback, fused unknowns, Metaspace decoder; added tokens with options.
pieces = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0), ("▁", -2.0), ("▁the", -3.0), ("▁t", -4.5), ("he", -4.0),
          ("h", -5.0), ("e", -5.0), ("t", -5.0), ("▁a", -4.0), ("a", -5.5), ("b", -6.0), ("ab", -5.0),
          ("▁ab", -6.5), ("é", -7.0), ("<0xE2>", -9.0), ("<0x98>", -9.0), ("<0x83>", -9.0), ("<0x20>", -9.0),
          ("x", -8.0), ("xx", -8.5)]
write("unigram.json", tokenizer(
    {"type": "Unigram", "unk_id": 0, "vocab": [list(p) for p in pieces], "byte_fallback": True},
    [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>"),
     added(len(pieces), "<mask>", special=True, lstrip=True, rstrip=True, single_word=True),
     added(len(pieces) + 1, "tok", special=False, single_word=True)],
    post={"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                                   {"SpecialToken": {"id": "</s>", "type_id": 0}}],
          "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}],
          "special_tokens": {"</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
    decoder={"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}))

# Unigram without byte fallback: unknown runs become one <unk>.
write("unigram_plain.json", tokenizer(
    {"type": "Unigram", "unk_id": 0, "vocab": [list(p) for p in pieces if not p[0].startswith("<0x")]},
    decoder={"type": "Metaspace", "replacement": "▁", "add_prefix_space": False, "prepend_scheme": "never"}))

# Truncation, padding and a Roberta post-processor.
write("wordpiece_truncate_pad.json", tokenizer(
    {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
     "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(wp_tokens)}},
    [added(0, "[PAD]"), added(2, "[CLS]"), added(3, "[SEP]")],
    post={"type": "RobertaProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2], "trim_offsets": True,
          "add_prefix_space": False},
    truncation={"direction": "Left", "max_length": 6, "strategy": "LongestFirst", "stride": 0},
    padding={"strategy": {"Fixed": 5}, "direction": "Right", "pad_to_multiple_of": 4, "pad_id": 0,
             "pad_type_id": 0, "pad_token": "[PAD]"}))
