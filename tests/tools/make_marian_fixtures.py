#!/usr/bin/env python3
"""Builds the tiny Marian-style folder in tests/data/tokenize/marian/ and its expected ids.

Trains two small SentencePiece unigram models with Debian's spm_train (source.spm with the default
nmt_nfkc normalization, target.spm with identity), writes a vocab.json over both, and records what
transformers' MarianTokenizer would produce, computed with python3-sentencepiece:
  encode: split on the special tokens, drop a leading >>lang<< code into its own token, sentencepiece
          encode_as_pieces, pieces -> vocab.json ids (unknown -> <unk>), then </s>;
  decode: ids -> tokens, specials kept verbatim (or skipped), other runs through target.spm
          decode_pieces, "▁" -> " ", strip.
Also writes spm_cases.json: encode_as_pieces / ids of each .spm file on its own.
Run with /usr/bin/python3 (needs the sentencepiece module)."""
import json
import os
import re
import subprocess
import tempfile

import sentencepiece as spm

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "tokenize", "marian")

CORPUS = """The quick brown fox jumps over the lazy dog.
Der schnelle braune Fuchs springt über den faulen Hund.
Le renard brun rapide saute par-dessus le chien paresseux.
Hello world! How are you today? I'm fine, thanks.
Numbers: 1234 5678 90, prices $3.50 and €4,20.
Ｆｕｌｌｗｉｄｔｈ letters and ｶﾀｶﾅ are normalized by NFKC.
Ligatures ﬁ ﬂ and the ½ fraction, ① circled, ™ sign.
Straße, Mädchen, Übung, naïve café, résumé.
Tabs\tand   multiple   spaces   inside.
Translation models read sentences and write sentences.
We translate from English into German and French every day.
The weather is nice and the sun is shining over the hills.
""" * 3

SPECIALS = ["</s>", "<unk>", "<pad>"]

INPUTS = ["The quick brown fox.", "  leading and trailing  ", "Ｆｕｌｌｗｉｄｔｈ ﬁ ½ ①", "Straße über naïve",
          "qzxj unknown ✓ chars 漢字", ">>fra<< Hello world", ">>deu<< >>fra<< nested codes", "a</s>b <unk> c<pad>",
          "", " ", "tabs\tnew\nlines", "invalid \xff utf8 is replaced", "x >>fra<< in the middle",
          "Hello    world", "e\u0301 combining", "\u3000ideographic\u3000space", "™ sign"]


def train(workdir, name, rule, size, extra=()):
    corpus = os.path.join(workdir, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write(CORPUS)
    prefix = os.path.join(workdir, name)
    subprocess.run(["spm_train", f"--input={corpus}", f"--model_prefix={prefix}", f"--vocab_size={size}",
                    "--model_type=unigram", f"--normalization_rule_name={rule}", "--num_threads=1",
                    "--character_coverage=0.98", "--minloglevel=2", "--hard_vocab_limit=false", *extra], check=True)
    return prefix + ".model"


def marian_encode(text, source, vocab):
    ids = []
    for chunk in re.split("(" + "|".join(re.escape(s) for s in SPECIALS) + ")", text):
        if chunk in SPECIALS:
            ids.append(vocab[chunk])
            continue
        match = re.match(">>.+<<", chunk)
        code = [match.group(0)] if match else []
        pieces = code + source.encode(re.sub(">>.+<<", "", chunk), out_type=str)
        ids += [vocab.get(p, vocab["<unk>"]) for p in pieces]
    return ids + [vocab["</s>"]]


def marian_decode(ids, target, inverse, skip_special):
    tokens = [inverse[i] for i in ids if not (skip_special and inverse[i] in SPECIALS)]
    out, current = "", []
    for token in tokens:
        if token in SPECIALS:
            out += target.decode_pieces(current) + token + " "
            current = []
        else:
            current.append(token)
    out += target.decode_pieces(current)
    return out.replace("\u2581", " ").strip()


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        source_path = train(workdir, "source", "nmt_nfkc", 120)
        target_path = train(workdir, "target", "identity", 380, ["--byte_fallback=true", "--add_dummy_prefix=false"])
        for src, dst in ((source_path, "source.spm"), (target_path, "target.spm")):
            with open(src, "rb") as f, open(os.path.join(OUT, dst), "wb") as g:
                g.write(f.read())
    source = spm.SentencePieceProcessor(model_file=os.path.join(OUT, "source.spm"))
    target = spm.SentencePieceProcessor(model_file=os.path.join(OUT, "target.spm"))

    # vocab.json: specials first, then the pieces of both models (reversed, so ids differ from the
    # .spm ids), then language codes and <pad> last, as Marian conversions lay it out.
    vocab = {"</s>": 0, "<unk>": 1}
    for sp in (source, target):
        for i in reversed(range(sp.get_piece_size())):
            piece = sp.id_to_piece(i)
            if not (sp.is_control(i) or sp.is_unknown(i)):
                vocab.setdefault(piece, len(vocab))
    for code in (">>fra<<", ">>deu<<"):
        vocab[code] = len(vocab)
    vocab["<pad>"] = len(vocab)
    with open(os.path.join(OUT, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=1)
    inverse = {i: t for t, i in vocab.items()}

    cases = []
    for text in INPUTS:
        ids = marian_encode(text, source, vocab)
        cases.append({"text": text, "ids": ids, "decoded": marian_decode(ids, target, inverse, False),
                      "decoded_skipping_specials": marian_decode(ids, target, inverse, True)})
    # Decoding of target pieces, byte pieces and specials.
    for pieces in (["▁The", "▁weather"], ["<0xE2>", "<0x9C>", "<0x93>", "▁ok"], ["<0xE2>", "x"], ["</s>", "▁a", "<pad>"]):
        ids = [vocab.get(p, vocab["<unk>"]) for p in pieces]
        cases.append({"ids": ids, "decoded": marian_decode(ids, target, inverse, False),
                      "decoded_skipping_specials": marian_decode(ids, target, inverse, True)})
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=1)

    spm_cases = []
    for name, sp in (("source.spm", source), ("target.spm", target)):
        for text in INPUTS:
            spm_cases.append({"model": name, "text": text, "pieces": sp.encode(text, out_type=str),
                              "ids": sp.encode(text)})
    with open(os.path.join(OUT, "spm_cases.json"), "w", encoding="utf-8") as f:
        json.dump(spm_cases, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
