#!/usr/bin/python3
"""Trains the three demo models committed under examples/models/ (issue 5).

What it does
  1. Generates a small English-Spanish corpus from a grammar (the tables below):
     articles and gender, nouns, colours and other adjectives with agreement and Spanish
     post-nominal placement, verbs with subject agreement, negation, numbers, plurals.
     Generation is deterministic (fixed seed). 200 sentence pairs are held out (never trained
     on, checked), among them "The ball is blue" -> "La bola es azul".
  2. Builds three Hugging Face tokenizer.json files (no `tokenizers` package needed):
       en-es    WordPiece over the words of both languages (cased), "$A </s>" post-processor
       tiny-lm  GPT-2 style byte-level BPE, merges learnt by the small trainer in this file
       lang-id  BERT uncased WordPiece ([CLS] $A [SEP])
  3. Trains, in plain PyTorch, models that mirror the Hugging Face architectures exactly:
       en-es    MarianMTModel (encoder-decoder translator, English -> Spanish)
       tiny-lm  GPT2LMHeadModel (continues English sentences of the grammar)
       lang-id  BertForSequenceClassification (labels en / es)
     and writes each as a Hugging Face folder (config.json, model.safetensors float32,
     tokenizer.json, generation_config.json), each well under 5 MB.
  4. Evaluates on the held-out sentences and writes reference outputs of the torch models to
     tests/data/demos/ (en_es_heldout.tsv, en_es_torch.json, tiny_lm_torch.json,
     lang_id_torch.json) so that qkv can be checked against them independently.

How to run (from the repository root; needs Debian's python3-torch and python3-numpy only,
no transformers, no network):
    /usr/bin/python3 examples/models/train_demos.py            # all three models
    /usr/bin/python3 examples/models/train_demos.py en-es      # or a subset: en-es tiny-lm lang-id

How long it takes: about 4 minutes in total on a 2-core machine shared with other work
(measured 218 s and 239 s: en-es ~150 s, tiny-lm ~60 s, lang-id ~15 s). Torch runs on one
thread by default (DEMO_THREADS=2 to change it): with two threads on a busy machine, steps were up
to 10x slower. Results are deterministic for a given torch build and thread count (fixed seeds;
two runs gave bit-identical model.safetensors); another torch version or CPU may give slightly
different weights. EN_ES_STEPS, TINY_LM_STEPS, LANG_ID_STEPS override the training steps
(1400, 1200, 300); DUMP_TOKENIZED=FILE writes the ids this script's tokenizers give to the
corpus texts, for checking the tokenizer.json files against the reference library.

Held-out results of the committed models: en-es 200/200 exact translations; lang-id 400/400;
tiny-lm every greedy continuation a sentence of the grammar (12 listed and 100 random prompts).
examples/models/check_qkv.py checks qkv's programs against the torch references.
"""

import json
import math
import os
import random
import struct
import sys
import time
import unicodedata

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TEST_DATA = os.path.join(ROOT, "tests", "data", "demos")
SEED = 1234

# ----------------------------------------------------------------------------------------------
# The grammar
# ----------------------------------------------------------------------------------------------

# Nouns: English singular, plural; Spanish singular, plural; gender; class.
NOUNS = [
    # animals
    ("dog", "dogs", "perro", "perros", "m", "animal"),
    ("cat", "cats", "gato", "gatos", "m", "animal"),
    ("bird", "birds", "pájaro", "pájaros", "m", "animal"),
    ("horse", "horses", "caballo", "caballos", "m", "animal"),
    ("cow", "cows", "vaca", "vacas", "f", "animal"),
    ("mouse", "mice", "ratón", "ratones", "m", "animal"),
    ("duck", "ducks", "pato", "patos", "m", "animal"),
    # people
    ("boy", "boys", "niño", "niños", "m", "person"),
    ("girl", "girls", "niña", "niñas", "f", "person"),
    ("man", "men", "hombre", "hombres", "m", "person"),
    ("woman", "women", "mujer", "mujeres", "f", "person"),
    ("sister", "sisters", "hermana", "hermanas", "f", "person"),
    ("brother", "brothers", "hermano", "hermanos", "m", "person"),
    # food
    ("apple", "apples", "manzana", "manzanas", "f", "food"),
    ("orange", "oranges", "naranja", "naranjas", "f", "food"),
    ("cake", "cakes", "pastel", "pasteles", "m", "food"),
    ("banana", "bananas", "plátano", "plátanos", "m", "food"),
    ("egg", "eggs", "huevo", "huevos", "m", "food"),
    ("cookie", "cookies", "galleta", "galletas", "f", "food"),
    # things
    ("ball", "balls", "bola", "bolas", "f", "thing"),
    ("car", "cars", "coche", "coches", "m", "thing"),
    ("house", "houses", "casa", "casas", "f", "thing"),
    ("book", "books", "libro", "libros", "m", "thing"),
    ("table", "tables", "mesa", "mesas", "f", "thing"),
    ("chair", "chairs", "silla", "sillas", "f", "thing"),
    ("cup", "cups", "taza", "tazas", "f", "thing"),
    ("shirt", "shirts", "camisa", "camisas", "f", "thing"),
    ("hat", "hats", "sombrero", "sombreros", "m", "thing"),
    ("box", "boxes", "caja", "cajas", "f", "thing"),
    ("pencil", "pencils", "lápiz", "lápices", "m", "thing"),
    ("flower", "flowers", "flor", "flores", "f", "thing"),
    ("tree", "trees", "árbol", "árboles", "m", "thing"),
    ("door", "doors", "puerta", "puertas", "f", "thing"),
    ("window", "windows", "ventana", "ventanas", "f", "thing"),
]

# Adjectives: English; Spanish masculine singular, feminine singular, masculine plural, feminine plural.
COLOURS = [
    ("red", "rojo", "roja", "rojos", "rojas"),
    ("white", "blanco", "blanca", "blancos", "blancas"),
    ("black", "negro", "negra", "negros", "negras"),
    ("yellow", "amarillo", "amarilla", "amarillos", "amarillas"),
    ("green", "verde", "verde", "verdes", "verdes"),
    ("blue", "azul", "azul", "azules", "azules"),
    ("grey", "gris", "gris", "grises", "grises"),
    ("brown", "marrón", "marrón", "marrones", "marrones"),
]
OTHER_ADJECTIVES = [
    ("big", "grande", "grande", "grandes", "grandes"),
    ("small", "pequeño", "pequeña", "pequeños", "pequeñas"),
    ("new", "nuevo", "nueva", "nuevos", "nuevas"),
    ("old", "viejo", "vieja", "viejos", "viejas"),
    ("pretty", "bonito", "bonita", "bonitos", "bonitas"),
    ("ugly", "feo", "fea", "feos", "feas"),
]
ADJECTIVES = COLOURS + OTHER_ADJECTIVES

# Determiners: English singular, plural (None: not in that number); Spanish m sg, f sg, m pl, f pl.
DETERMINERS = [
    ("the", "the", "el", "la", "los", "las"),
    ("a", None, "un", "una", None, None),
    (None, "some", None, None, "unos", "unas"),
    ("my", "my", "mi", "mi", "mis", "mis"),
    ("your", "your", "tu", "tu", "tus", "tus"),
    ("his", "his", "su", "su", "sus", "sus"),
    ("her", "her", "su", "su", "sus", "sus"),
    ("this", "these", "este", "esta", "estos", "estas"),
    (None, "two", None, None, "dos", "dos"),
    (None, "three", None, None, "tres", "tres"),
    (None, "four", None, None, "cuatro", "cuatro"),
    (None, "five", None, None, "cinco", "cinco"),
]

# Verbs: English base, 3rd singular; Spanish 3rd singular, 3rd plural; subject classes; object classes.
ANIMATE = ("animal", "person")
VERBS = [
    ("eat", "eats", "come", "comen", ANIMATE, ("food",)),
    ("see", "sees", "ve", "ven", ANIMATE, ("food", "thing")),
    ("have", "has", "tiene", "tienen", ANIMATE, ("food", "thing", "animal")),
    ("want", "wants", "quiere", "quieren", ANIMATE, ("food", "thing")),
    ("buy", "buys", "compra", "compran", ("person",), ("food", "thing")),
    ("find", "finds", "encuentra", "encuentran", ANIMATE, ("food", "thing")),
    ("carry", "carries", "lleva", "llevan", ANIMATE, ("food", "thing")),
    ("wash", "washes", "lava", "lavan", ("person",), ("thing",)),
]


def noun_phrase(rng, classes, adjective_probability=0.45, avoid_adjective=None):
    """A random noun phrase: (english words, spanish words, plural, noun, adjective)."""
    noun = rng.choice([n for n in NOUNS if n[5] in classes])
    plural = rng.random() < 0.5
    det = rng.choice([d for d in DETERMINERS if d[1 if plural else 0] is not None])
    adj = None
    if rng.random() < adjective_probability:
        adj = rng.choice([a for a in ADJECTIVES if a is not avoid_adjective])
    female = noun[4] == "f"
    slot = (2 if plural else 0) + (1 if female else 0)
    en_noun = noun[1] if plural else noun[0]
    es_noun = noun[3] if plural else noun[2]
    en = [det[1] if plural else det[0]]
    if adj is not None:
        en.append(adj[0])
    en.append(en_noun)
    if en[0] == "a" and en[1][0] in "aeiou":
        en[0] = "an"
    es = [det[2 + slot], es_noun]
    if adj is not None:
        es.append(adj[1 + slot])
    return en, es, plural, noun, adj, slot


def capitalise(words):
    return [words[0][0].upper() + words[0][1:]] + words[1:]


def sentence(rng):
    """One random (english, spanish) sentence pair."""
    negative = rng.random() < 0.2
    if rng.random() < 0.4:  # copula: NP is/are [not] ADJ
        en, es, plural, noun, adj, slot = noun_phrase(rng, ("animal", "person", "food", "thing"))
        pred = rng.choice([a for a in ADJECTIVES if a is not adj])
        en += ["are" if plural else "is"] + (["not"] if negative else []) + [pred[0]]
        es += (["no"] if negative else []) + ["son" if plural else "es"] + [pred[1 + slot]]
    else:  # transitive: NP verb NP
        verb = rng.choice(VERBS)
        en, es, plural, noun, adj, slot = noun_phrase(rng, verb[4])
        o_en, o_es, _, _, _, _ = noun_phrase(rng, verb[5])
        if negative:
            en += ["do" if plural else "does", "not", verb[0]]
            es += ["no", verb[3] if plural else verb[2]]
        else:
            en += [verb[0] if plural else verb[1]]
            es += [verb[3] if plural else verb[2]]
        en += o_en
        es += o_es
    return " ".join(capitalise(en)), " ".join(capitalise(es))


def all_words():
    """Every word the grammar can produce, per language (lower case and capitalised sentence starts)."""
    en, es = set(), set()
    for n in NOUNS:
        en.update(n[0:2]); es.update(n[2:4])
    for a in ADJECTIVES:
        en.add(a[0]); es.update(a[1:5])
    for d in DETERMINERS:
        for w in d[0:2]:
            if w: en.add(w); en.add(w.capitalize())
        for w in d[2:6]:
            if w: es.add(w); es.add(w.capitalize())
    en.update(["an", "An"])
    for v in VERBS:
        en.update(v[0:2]); es.update(v[2:4])
    en.update(["is", "are", "not", "do", "does"])
    es.update(["es", "son", "no"])
    return sorted(en), sorted(es)


def make_corpus(n_train=40000, n_heldout=200):
    """Deterministic unique pairs: (train, heldout). The held-out list starts with The ball is blue."""
    rng = random.Random(SEED)
    seen = set()
    pairs = []
    while len(pairs) < n_train + n_heldout:
        p = sentence(rng)
        if p[0] in seen:
            continue
        seen.add(p[0])
        pairs.append(p)
    anchor = ("The ball is blue", "La bola es azul")
    heldout = [anchor] + [p for p in pairs[:n_heldout] if p != anchor][: n_heldout - 1]
    held = {p[0] for p in heldout}
    train = [p for p in pairs if p[0] not in held]
    assert len(heldout) == n_heldout and not (held & {p[0] for p in train})
    return train, heldout


# ----------------------------------------------------------------------------------------------
# safetensors and JSON output
# ----------------------------------------------------------------------------------------------

def save_safetensors(path, tensors):
    """tensors: {name: float32 torch tensor}, written in name order."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name].detach().cpu().contiguous().to(torch.float32).numpy()
        data = a.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)  # align the data to 8 bytes, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_json(path, obj, compact=False):
    with open(path, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def write_rows_json(path, obj, rows):
    """Like write_json, with each element of the list obj[rows] on one line (a diff-friendly table)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n")
        for key, value in obj.items():
            if key != rows:
                f.write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
        lines = [json.dumps(r, ensure_ascii=False) for r in obj[rows]]
        f.write(f"  {json.dumps(rows)}: [\n    " + ",\n    ".join(lines) + "\n  ]\n}\n")


def added_token(i, content):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


# ----------------------------------------------------------------------------------------------
# WordPiece tokenizers (en-es: cased, lang-id: BERT uncased)
# ----------------------------------------------------------------------------------------------

def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def bert_pre_tokenize(text):
    """BertPreTokenizer: split on whitespace, and every punctuation character is its own piece."""
    out = []
    for chunk in text.split():
        cur = ""
        for ch in chunk:
            if is_punctuation(ch):
                if cur: out.append(cur)
                out.append(ch)
                cur = ""
            else:
                cur += ch
        if cur: out.append(cur)
    return out


def bert_normalize_uncased(text):
    """BertNormalizer(clean_text, handle_chinese_chars, strip_accents=None -> lowercase, lowercase) for
    the text this project feeds it (no control or CJK characters)."""
    text = "".join(" " if ch.isspace() else ch for ch in text)
    text = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return text.lower()


class WordPiece:
    def __init__(self, vocab, unk, prefix="##", max_chars=100):
        self.vocab, self.unk, self.prefix, self.max_chars = vocab, unk, prefix, max_chars

    def word(self, w):
        if len(w) > self.max_chars:
            return [self.vocab[self.unk]]
        ids, start = [], 0
        while start < len(w):
            end, found = len(w), None
            while start < end:
                piece = w[start:end] if start == 0 else self.prefix + w[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.vocab[self.unk]]
            ids.append(found)
            start = end
        return ids


def wordpiece_vocab(specials, words, extra_chars=""):
    """specials, then the words, then single characters and ##characters for robustness."""
    chars = set(extra_chars)
    for w in words:
        chars.update(w)
    chars = sorted(chars)
    tokens = list(specials)
    for t in list(words) + chars + ["##" + c for c in chars]:
        if t not in tokens:
            tokens.append(t)
    return {t: i for i, t in enumerate(tokens)}


BASIC_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"-()áéíóúñüÁÉÍÓÚÑ¿¡"


class EnEsTokenizer:
    """Cased WordPiece shared by source and target; encode appends </s> (Marian)."""
    PAD, EOS, UNK = 0, 1, 2

    def __init__(self):
        en, es = all_words()
        self.vocab = wordpiece_vocab(["<pad>", "</s>", "<unk>"], sorted(set(en) | set(es)), BASIC_CHARS)
        self.inv = {i: t for t, i in self.vocab.items()}
        self.wp = WordPiece(self.vocab, "<unk>")

    def encode(self, text):
        ids = []
        for w in bert_pre_tokenize(text):
            ids += self.wp.word(w)
        return ids + [self.EOS]

    def decode(self, ids):
        out = ""
        for i in ids:
            if i in (self.PAD, self.EOS, self.UNK):
                continue
            t = self.inv[i]
            out += t[2:] if t.startswith("##") else (" " + t if out else t)
        return out

    def to_json(self):
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [added_token(0, "<pad>"), added_token(1, "</s>"), added_token(2, "<unk>")],
            "normalizer": None,
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}},
                         {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}},
            },
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
            "model": {"type": "WordPiece", "unk_token": "<unk>", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": self.vocab},
        }


class LangIdTokenizer:
    """BERT uncased WordPiece: [CLS] text [SEP]."""
    PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4

    def __init__(self):
        en, es = all_words()
        words = sorted({bert_normalize_uncased(w) for w in en + es})
        chars = bert_normalize_uncased(BASIC_CHARS)
        self.vocab = wordpiece_vocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], words, chars)
        self.inv = {i: t for t, i in self.vocab.items()}
        self.wp = WordPiece(self.vocab, "[UNK]")

    def encode(self, text):
        ids = [self.CLS]
        for w in bert_pre_tokenize(bert_normalize_uncased(text)):
            ids += self.wp.word(w)
        return ids + [self.SEP]

    def decode(self, ids):
        out = ""
        for i in ids:
            if i < 5:
                continue
            t = self.inv[i]
            out += t[2:] if t.startswith("##") else (" " + t if out else t)
        return out

    def to_json(self):
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [added_token(i, t) for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])],
            "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                           "strip_accents": None, "lowercase": True},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                         {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                   "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}},
            },
            # cleanup off: it would rewrite " do not" as " don't".
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": False},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": self.vocab},
        }


# ----------------------------------------------------------------------------------------------
# Byte-level BPE (tiny-lm)
# ----------------------------------------------------------------------------------------------

def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


BYTE_CHAR = bytes_to_unicode()
CHAR_BYTE = {c: b for b, c in BYTE_CHAR.items()}


def byte_level_pieces(text):
    """The GPT-2 pre-tokenizer split (ByteLevel, use_regex, no prefix space) for text of ASCII
    letters, digits and single spaces, which is all this corpus holds: ' ?letters', ' ?digits'."""
    assert all(c.isascii() and (c.isalnum() or c == " ") for c in text), text
    pieces, cur = [], ""
    for c in text:
        if c == " " or (cur and cur[-1] != " " and cur[-1].isalpha() != c.isalpha()):
            if cur: pieces.append(cur)
            cur = c
        else:
            cur += c
    if cur: pieces.append(cur)
    return ["".join(BYTE_CHAR[b] for b in p.encode("utf-8")) for p in pieces]


class ByteBPE:
    EOT = "<|endoftext|>"

    def __init__(self, texts, n_merges):
        counts = {}
        for t in texts:
            for p in byte_level_pieces(t):
                counts[p] = counts.get(p, 0) + 1
        words = {p: list(p) for p in counts}
        self.merges = []
        for _ in range(n_merges):
            pairs = {}
            for p, syms in words.items():
                for a, b in zip(syms, syms[1:]):
                    pairs[(a, b)] = pairs.get((a, b), 0) + counts[p]
            if not pairs:
                break
            best = min(pairs, key=lambda k: (-pairs[k], k))  # most frequent, ties by the pair's text
            self.merges.append(best)
            for p, syms in words.items():
                out, i = [], 0
                while i < len(syms):
                    if i + 1 < len(syms) and (syms[i], syms[i + 1]) == best:
                        out.append(syms[i] + syms[i + 1]); i += 2
                    else:
                        out.append(syms[i]); i += 1
                words[p] = out
        self.vocab = {BYTE_CHAR[b]: b for b in range(256)}
        for a, b in self.merges:
            if a + b not in self.vocab:
                self.vocab[a + b] = len(self.vocab)
        self.eot = len(self.vocab)
        self.vocab[self.EOT] = self.eot
        self.inv = {i: t for t, i in self.vocab.items()}
        self.rank = {m: i for i, m in enumerate(self.merges)}

    def piece(self, p):
        syms = list(p)
        while len(syms) > 1:
            ranked = [(self.rank.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(syms, syms[1:]))]
            r, i = min(ranked)
            if r == 1 << 30:
                break
            pair = (syms[i], syms[i + 1])
            out, j = [], 0
            while j < len(syms):
                if j + 1 < len(syms) and (syms[j], syms[j + 1]) == pair:
                    out.append(syms[j] + syms[j + 1]); j += 2
                else:
                    out.append(syms[j]); j += 1
            syms = out
        return [self.vocab[s] for s in syms]

    def encode(self, text):
        ids = []
        for p in byte_level_pieces(text):
            ids += self.piece(p)
        return ids

    def decode(self, ids):
        data = b"".join(bytes(CHAR_BYTE[c] for c in self.inv[i]) for i in ids if i != self.eot)
        return data.decode("utf-8", errors="replace")

    def to_json(self):
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [added_token(self.eot, self.EOT)],
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                      "vocab": self.vocab, "merges": [a + " " + b for a, b in self.merges]},
        }


# ----------------------------------------------------------------------------------------------
# Model pieces shared by the architectures
# ----------------------------------------------------------------------------------------------

ACTIVATIONS = {
    "swish": F.silu,
    "gelu": F.gelu,  # erf form, as HF's "gelu"
    "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0)))),
}


def attention(q, k, v, heads, bias):
    """q [B, Lq, d], k/v [B, Lk, d] (already projected, q not scaled); bias broadcast to [B, H, Lq, Lk]."""
    B, Lq, d = q.shape
    Lk = k.shape[1]
    hd = d // heads
    q = q.view(B, Lq, heads, hd).transpose(1, 2)
    k = k.view(B, Lk, heads, hd).transpose(1, 2)
    v = v.view(B, Lk, heads, hd).transpose(1, 2)
    scores = (q * hd ** -0.5) @ k.transpose(-1, -2)
    if bias is not None:
        scores = scores + bias
    p = torch.softmax(scores, dim=-1)
    return (p @ v).transpose(1, 2).reshape(B, Lq, d), p


NEG = torch.finfo(torch.float32).min


def padding_bias(mask):
    """mask [B, L] of 1/0 -> additive [B, 1, 1, L]."""
    return (1.0 - mask[:, None, None, :].float()) * NEG


def causal_bias(L):
    return torch.triu(torch.full((L, L), NEG), diagonal=1)[None, None]


# ----------------------------------------------------------------------------------------------
# Marian (MarianMTModel)
# ----------------------------------------------------------------------------------------------

def marian_sinusoids(n_pos, dim):
    """MarianSinusoidalPositionalEmbedding: sin of the even-index angles in the first half, cos of the
    odd-index ones in the second."""
    enc = np.array([[pos / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for pos in range(n_pos)])
    out = np.zeros((n_pos, dim))
    sentinel = dim // 2 if dim % 2 == 0 else dim // 2 + 1
    out[:, 0:sentinel] = np.sin(enc[:, 0::2])
    out[:, sentinel:] = np.cos(enc[:, 1::2])
    return torch.tensor(out, dtype=torch.float32)


class BartAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, kv, bias):
        out, _ = attention(self.q_proj(x), self.k_proj(kv), self.v_proj(kv), self.heads, bias)
        return self.out_proj(out)


class MarianEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.c = c
        self.self_attn = BartAttention(d, c["encoder_attention_heads"])
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, c["encoder_ffn_dim"])
        self.fc2 = nn.Linear(c["encoder_ffn_dim"], d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, h, bias):
        p = self.c["dropout"] if self.training else 0.0
        h = self.self_attn_layer_norm(h + F.dropout(self.self_attn(h, h, bias), p, self.training))
        f = self.fc2(F.dropout(ACTIVATIONS[self.c["activation_function"]](self.fc1(h)), self.c["activation_dropout"], self.training))
        return self.final_layer_norm(h + F.dropout(f, p, self.training))


class MarianDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.c = c
        self.self_attn = BartAttention(d, c["decoder_attention_heads"])
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.encoder_attn = BartAttention(d, c["decoder_attention_heads"])
        self.encoder_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, c["decoder_ffn_dim"])
        self.fc2 = nn.Linear(c["decoder_ffn_dim"], d)
        self.final_layer_norm = nn.LayerNorm(d)

    def forward(self, h, self_bias, enc, cross_bias):
        p = self.c["dropout"] if self.training else 0.0
        h = self.self_attn_layer_norm(h + F.dropout(self.self_attn(h, h, self_bias), p, self.training))
        h = self.encoder_attn_layer_norm(h + F.dropout(self.encoder_attn(h, enc, cross_bias), p, self.training))
        f = self.fc2(F.dropout(ACTIVATIONS[self.c["activation_function"]](self.fc1(h)), self.c["activation_dropout"], self.training))
        return self.final_layer_norm(h + F.dropout(f, p, self.training))


class Marian(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        d = c["d_model"]
        self.shared = nn.Embedding(c["vocab_size"], d)
        nn.init.normal_(self.shared.weight, std=0.02)
        self.encoder_layers = nn.ModuleList(MarianEncoderLayer(c) for _ in range(c["encoder_layers"]))
        self.decoder_layers = nn.ModuleList(MarianDecoderLayer(c) for _ in range(c["decoder_layers"]))
        self.register_buffer("final_logits_bias", torch.zeros(1, c["vocab_size"]))
        self.register_buffer("positions", marian_sinusoids(c["max_position_embeddings"], d), persistent=False)
        self.scale = math.sqrt(d) if c["scale_embedding"] else 1.0
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def embed(self, ids):
        p = self.c["dropout"] if self.training else 0.0
        return F.dropout(self.shared(ids) * self.scale + self.positions[: ids.shape[1]], p, self.training)

    def encode(self, ids, mask):
        h = self.embed(ids)
        bias = padding_bias(mask)
        for layer in self.encoder_layers:
            h = layer(h, bias)
        return h

    def decode(self, dec_ids, dec_mask, enc, enc_mask):
        h = self.embed(dec_ids)
        L = dec_ids.shape[1]
        self_bias = causal_bias(L) + padding_bias(dec_mask)
        self_bias = self_bias.clamp(min=NEG)
        cross = padding_bias(enc_mask)
        for layer in self.decoder_layers:
            h = layer(h, self_bias, enc, cross)
        return h @ self.shared.weight.t() + self.final_logits_bias

    def state_dict_hf(self):
        sd = {"model.shared.weight": self.shared.weight, "final_logits_bias": self.final_logits_bias}
        for stack, layers in (("encoder", self.encoder_layers), ("decoder", self.decoder_layers)):
            for i, layer in enumerate(layers):
                for k, v in layer.state_dict().items():
                    sd[f"model.{stack}.layers.{i}.{k}"] = v
        return sd

    @torch.no_grad()
    def greedy(self, ids, max_new=30):
        """HF generate(num_beams=1) with this config: start from decoder_start_token_id, ban <pad>
        (bad_words_ids), stop at </s>. Returns the generated ids without the start token."""
        src = torch.tensor([ids])
        enc = self.encode(src, torch.ones_like(src))
        out = [self.c["decoder_start_token_id"]]
        for _ in range(max_new):
            d = torch.tensor([out])
            logits = self.decode(d, torch.ones_like(d), enc, torch.ones_like(src))[0, -1]
            logits[self.c["pad_token_id"]] = -float("inf")
            nxt = int(logits.argmax())
            out.append(nxt)
            if nxt == self.c["eos_token_id"]:
                break
        return out[1:]


def pad_batch(seqs, pad):
    L = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), L), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), L), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def lr_at(step, total, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * max(0.05, 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup))))


def train_en_es(train, heldout):
    t0 = time.time()
    tok = EnEsTokenizer()
    c = {
        "vocab_size": len(tok.vocab), "d_model": 128, "encoder_layers": 2, "decoder_layers": 2,
        "encoder_attention_heads": 4, "decoder_attention_heads": 4, "encoder_ffn_dim": 512, "decoder_ffn_dim": 512,
        "max_position_embeddings": 64, "scale_embedding": True, "activation_function": "swish",
        "dropout": 0.1, "attention_dropout": 0.0, "activation_dropout": 0.0,
        "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0,
    }
    torch.manual_seed(SEED)
    model = Marian(c)
    src = [tok.encode(e) for e, _ in train]
    tgt = [tok.encode(s) for _, s in train]
    for e, s in train[:2000] + heldout:
        assert tok.UNK not in tok.encode(e) and tok.UNK not in tok.encode(s), (e, s)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
    steps, batch = int(os.environ.get("EN_ES_STEPS", 1400)), 64
    rng = random.Random(SEED)
    order = []
    model.train()
    for step in range(steps):
        if len(order) < batch:
            order = list(range(len(train)))
            rng.shuffle(order)
        idx, order = order[:batch], order[batch:]
        s_ids, s_mask = pad_batch([src[i] for i in idx], tok.PAD)
        t_ids, t_mask = pad_batch([tgt[i] for i in idx], tok.PAD)
        dec_in = torch.cat([torch.zeros_like(t_ids[:, :1]), t_ids[:, :-1]], 1)  # shift right, start = pad
        dec_mask = torch.cat([torch.ones_like(t_mask[:, :1]), t_mask[:, :-1]], 1)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, 1e-3, 200)
        logits = model.decode(dec_in, dec_mask, model.encode(s_ids, s_mask), s_mask)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t_ids.reshape(-1), ignore_index=-100,
                               reduction="none")
        loss = (loss * t_mask.reshape(-1)).sum() / t_mask.sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 200 == 0 or step == steps - 1:
            print(f"  en-es step {step:5d} loss {loss.item():.4f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    train_time = time.time() - t0

    records, exact = [], 0
    for e, s in heldout:
        ids = tok.encode(e)
        out = model.greedy(ids)
        text = tok.decode(out)
        exact += text == s
        if text != s:
            print(f"  MISS {e!r}: {text!r} (want {s!r})")
        records.append({"english": e, "spanish": s, "input_ids": ids, "output_ids": out, "output_text": text})
    acc = exact / len(heldout)
    print(f"  en-es held-out exact match: {exact}/{len(heldout)} = {acc:.1%} (training {train_time:.0f}s)")

    folder = os.path.join(HERE, "en-es")
    os.makedirs(folder, exist_ok=True)
    config = {
        "architectures": ["MarianMTModel"], "model_type": "marian",
        "vocab_size": c["vocab_size"], "decoder_vocab_size": c["vocab_size"], "d_model": c["d_model"],
        "encoder_layers": c["encoder_layers"], "decoder_layers": c["decoder_layers"],
        "encoder_attention_heads": c["encoder_attention_heads"], "decoder_attention_heads": c["decoder_attention_heads"],
        "encoder_ffn_dim": c["encoder_ffn_dim"], "decoder_ffn_dim": c["decoder_ffn_dim"],
        "max_position_embeddings": c["max_position_embeddings"], "scale_embedding": True,
        "activation_function": c["activation_function"], "dropout": c["dropout"],
        "attention_dropout": c["attention_dropout"], "activation_dropout": c["activation_dropout"],
        "encoder_layerdrop": 0.0, "decoder_layerdrop": 0.0, "init_std": 0.02, "normalize_embedding": False,
        "static_position_embeddings": True, "share_encoder_decoder_embeddings": True, "tie_word_embeddings": True,
        "is_encoder_decoder": True, "use_cache": True,
        "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0, "forced_eos_token_id": 1,
        "bad_words_ids": [[0]], "num_beams": 1, "max_length": 64, "torch_dtype": "float32",
    }
    write_json(os.path.join(folder, "config.json"), config)
    write_json(os.path.join(folder, "generation_config.json"), {
        "bad_words_ids": [[0]], "bos_token_id": 0, "decoder_start_token_id": 0, "eos_token_id": 1,
        "forced_eos_token_id": 1, "max_length": 64, "num_beams": 1, "pad_token_id": 0})
    save_safetensors(os.path.join(folder, "model.safetensors"), model.state_dict_hf())
    write_json(os.path.join(folder, "tokenizer.json"), tok.to_json())

    os.makedirs(TEST_DATA, exist_ok=True)
    with open(os.path.join(TEST_DATA, "en_es_heldout.tsv"), "w", encoding="utf-8") as f:
        for e, s in heldout:
            f.write(f"{e}\t{s}\n")
    write_rows_json(os.path.join(TEST_DATA, "en_es_torch.json"), {
        "description": "examples/models/en-es in torch (train_demos.py): for each held-out sentence, the "
                       "tokenizer's input ids (with </s>) and the greedy output ids (decoder start <pad> not "
                       "included, </s> included; <pad> banned as bad_words_ids [[0]] does).",
        "exact_match": acc, "sentences": records}, "sentences")
    return {"accuracy": acc, "train_seconds": train_time, "tokenizer": tok,
            "texts": [t for p in train + heldout for t in p]}


# ----------------------------------------------------------------------------------------------
# GPT-2 (GPT2LMHeadModel)
# ----------------------------------------------------------------------------------------------

class Conv1D(nn.Module):
    """HF Conv1D: weight [in, out], y = x W + b."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * 0.02)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class GPT2Block(nn.Module):
    def __init__(self, c, layer):
        super().__init__()
        d = c["n_embd"]
        self.c = c
        self.ln_1 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.attn = nn.Module()
        self.attn.c_attn = Conv1D(d, 3 * d)
        self.attn.c_proj = Conv1D(d, d)
        # GPT-2 scales the residual projections by 1/sqrt(2 * n_layer) at init.
        nn.init.normal_(self.attn.c_proj.weight, std=0.02 / math.sqrt(2 * c["n_layer"]))
        self.ln_2 = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])
        self.mlp = nn.Module()
        self.mlp.c_fc = Conv1D(d, c["n_inner"])
        self.mlp.c_proj = Conv1D(c["n_inner"], d)
        nn.init.normal_(self.mlp.c_proj.weight, std=0.02 / math.sqrt(2 * c["n_layer"]))

    def forward(self, h, bias):
        p = self.c["resid_pdrop"] if self.training else 0.0
        x = self.ln_1(h)
        q, k, v = self.attn.c_attn(x).split(self.c["n_embd"], dim=2)
        a, _ = attention(q, k, v, self.c["n_head"], bias)
        h = h + F.dropout(self.attn.c_proj(a), p, self.training)
        m = self.mlp.c_proj(ACTIVATIONS["gelu_new"](self.mlp.c_fc(self.ln_2(h))))
        return h + F.dropout(m, p, self.training)


class GPT2(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        d = c["n_embd"]
        self.wte = nn.Embedding(c["vocab_size"], d)
        self.wpe = nn.Embedding(c["n_positions"], d)
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)
        self.h = nn.ModuleList(GPT2Block(c, i) for i in range(c["n_layer"]))
        self.ln_f = nn.LayerNorm(d, eps=c["layer_norm_epsilon"])

    def forward(self, ids, mask=None):
        L = ids.shape[1]
        p = self.c["embd_pdrop"] if self.training else 0.0
        h = F.dropout(self.wte(ids) + self.wpe(torch.arange(L))[None], p, self.training)
        bias = causal_bias(L)
        if mask is not None:
            bias = (bias + padding_bias(mask)).clamp(min=NEG)
        for block in self.h:
            h = block(h, bias)
        return self.ln_f(h) @ self.wte.weight.t()

    def state_dict_hf(self):
        return {"transformer." + k: v for k, v in self.state_dict().items()}

    @torch.no_grad()
    def greedy(self, ids, max_new):
        out = list(ids)
        for _ in range(max_new):
            nxt = int(self(torch.tensor([out]))[0, -1].argmax())
            out.append(nxt)
            if nxt == self.c["eos_token_id"]:
                break
        return out[len(ids):]


def lm_grammatical(text):
    """A continuation is grammatical when the sentence it completes parses in the grammar."""
    return parse_english(text.split()) is not None


def parse_english(words):
    """Recognises the English side of the grammar; returns True or None."""
    nouns_sg = {n[0]: n for n in NOUNS}
    nouns_pl = {n[1]: n for n in NOUNS}
    adjs = {a[0] for a in ADJECTIVES}
    dets_sg = {d[0] for d in DETERMINERS if d[0]} | {"an"}
    dets_pl = {d[1] for d in DETERMINERS if d[1]}

    def np_at(i, classes):
        """Parses a noun phrase at words[i:]; returns (end, plural) or None."""
        if i >= len(words):
            return None
        det = words[i]
        j = i + 1
        adj = None
        if j < len(words) and words[j] in adjs:
            adj = words[j]; j += 1
        if j >= len(words):
            return None
        n = words[j]
        if det in dets_sg and n in nouns_sg and nouns_sg[n][5] in classes:
            first = adj if adj else n
            if (det == "an") != (first[0] in "aeiou") and det in ("a", "an"):
                return None
            return j + 1, False
        if det in dets_pl and n in nouns_pl and nouns_pl[n][5] in classes:
            return j + 1, True
        return None

    if not words:
        return None
    words = [words[0][0].lower() + words[0][1:]] + words[1:]
    classes = ("animal", "person", "food", "thing")
    r = np_at(0, classes)
    if r:  # copula
        j, plural = r
        rest = words[j:]
        be = "are" if plural else "is"
        if rest[:1] == [be] and (rest[1:] in ([a] for a in adjs) or (rest[1:2] == ["not"] and len(rest) == 3 and rest[2] in adjs)):
            return True
    for v in VERBS:
        r = np_at(0, v[4])
        if not r:
            continue
        j, plural = r
        rest = words[j:]
        if rest[:1] == [v[0] if plural else v[1]]:
            k = j + 1
        elif rest[:3] == ["do" if plural else "does", "not", v[0]]:
            k = j + 3
        else:
            continue
        o = np_at(k, v[5])
        if o and o[0] == len(words):
            return True
    return None


def train_tiny_lm(train):
    t0 = time.time()
    texts = [e for e, _ in train]
    bpe = ByteBPE(texts[:20000], n_merges=int(os.environ.get("BPE_MERGES", 400)))
    c = {"vocab_size": len(bpe.vocab), "n_embd": 128, "n_head": 4, "n_layer": 2, "n_inner": 512,
         "n_positions": 64, "layer_norm_epsilon": 1e-5, "resid_pdrop": 0.1, "embd_pdrop": 0.1,
         "attn_pdrop": 0.0, "bos_token_id": bpe.eot, "eos_token_id": bpe.eot}
    print(f"  tiny-lm: {len(bpe.merges)} merges, vocab {c['vocab_size']}")
    torch.manual_seed(SEED + 1)
    model = GPT2(c)
    seqs = [bpe.encode(t) + [bpe.eot] for t in texts]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
    steps, batch = int(os.environ.get("TINY_LM_STEPS", 1200)), 64
    rng = random.Random(SEED + 1)
    order = []
    model.train()
    for step in range(steps):
        if len(order) < batch:
            order = list(range(len(seqs)))
            rng.shuffle(order)
        idx, order = order[:batch], order[batch:]
        ids, mask = pad_batch([seqs[i] for i in idx], bpe.eot)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, 1e-3, 100)
        logits = model(ids)  # right padding: causal attention never sees the pads of a row's own tokens
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, c["vocab_size"]), ids[:, 1:].reshape(-1), reduction="none")
        m = mask[:, 1:].reshape(-1).float()
        loss = (loss * m).sum() / m.sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 200 == 0 or step == steps - 1:
            print(f"  tiny-lm step {step:5d} loss {loss.item():.4f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    train_time = time.time() - t0

    prompts = ["The ball", "Two small dogs", "My sister has", "The red cars are", "A horse does not",
               "Her brothers", "These old", "An", "Some girls want", "The cat", "Five", "This green"]
    records, ok = [], 0
    for p in prompts:
        ids = bpe.encode(p)
        out = model.greedy(ids, 12)
        text = bpe.decode(out)
        full = p + text
        gram = bool(lm_grammatical(full)) and out[-1] == bpe.eot
        ok += gram
        print(f"  tiny-lm {p!r} -> {text!r} {'ok' if gram else 'NOT IN GRAMMAR'}")
        records.append({"prompt": p, "prompt_ids": ids, "output_ids": out, "output_text": text,
                        "grammatical": gram})
    # And 100 more prompts: the first two words of random sentences of the grammar.
    rng = random.Random(7)
    many, good = 0, 0
    for _ in range(100):
        e, _ = sentence(rng)
        p = " ".join(e.split()[:2])
        out = model.greedy(bpe.encode(p), 20)
        many += 1
        good += bool(lm_grammatical(p + bpe.decode(out))) and out[-1] == bpe.eot
    print(f"  tiny-lm grammatical continuations: {ok}/{len(prompts)} listed prompts, {good}/{many} random "
          f"two-word prompts (training {train_time:.0f}s)")

    folder = os.path.join(HERE, "tiny-lm")
    os.makedirs(folder, exist_ok=True)
    config = {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": c["vocab_size"],
        "n_embd": c["n_embd"], "n_head": c["n_head"], "n_layer": c["n_layer"], "n_inner": c["n_inner"],
        "n_positions": c["n_positions"], "n_ctx": c["n_positions"], "activation_function": "gelu_new",
        "layer_norm_epsilon": c["layer_norm_epsilon"], "resid_pdrop": c["resid_pdrop"], "embd_pdrop": c["embd_pdrop"],
        "attn_pdrop": c["attn_pdrop"], "initializer_range": 0.02, "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False, "tie_word_embeddings": True,
        "bos_token_id": bpe.eot, "eos_token_id": bpe.eot, "use_cache": True, "torch_dtype": "float32",
    }
    write_json(os.path.join(folder, "config.json"), config)
    write_json(os.path.join(folder, "generation_config.json"), {"bos_token_id": bpe.eot, "eos_token_id": bpe.eot})
    save_safetensors(os.path.join(folder, "model.safetensors"), model.state_dict_hf())
    write_json(os.path.join(folder, "tokenizer.json"), bpe.to_json())
    write_rows_json(os.path.join(TEST_DATA, "tiny_lm_torch.json"), {
        "description": "examples/models/tiny-lm in torch (train_demos.py): greedy continuations of 12 new "
                       "tokens at most (stopping after <|endoftext|>), ids and decoded text.",
        "eos_token_id": bpe.eot, "max_new_tokens": 12, "prompts": records}, "prompts")
    return {"grammatical": (ok, len(prompts), good, many), "train_seconds": train_time, "tokenizer": bpe,
            "texts": texts}


# ----------------------------------------------------------------------------------------------
# BERT (BertForSequenceClassification)
# ----------------------------------------------------------------------------------------------

class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, eps = c["hidden_size"], c["layer_norm_eps"]
        self.c = c
        self.attention = nn.Module()
        self.attention.self = nn.Module()
        self.attention.self.query, self.attention.self.key, self.attention.self.value = (nn.Linear(d, d) for _ in range(3))
        self.attention.output = nn.Module()
        self.attention.output.dense = nn.Linear(d, d)
        self.attention.output.LayerNorm = nn.LayerNorm(d, eps=eps)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(d, c["intermediate_size"])
        self.output = nn.Module()
        self.output.dense = nn.Linear(c["intermediate_size"], d)
        self.output.LayerNorm = nn.LayerNorm(d, eps=eps)

    def forward(self, h, bias):
        p = self.c["hidden_dropout_prob"] if self.training else 0.0
        s = self.attention.self
        a, _ = attention(s.query(h), s.key(h), s.value(h), self.c["num_attention_heads"], bias)
        h = self.attention.output.LayerNorm(h + F.dropout(self.attention.output.dense(a), p, self.training))
        f = self.output.dense(F.gelu(self.intermediate.dense(h)))
        return self.output.LayerNorm(h + F.dropout(f, p, self.training))


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, eps = c["hidden_size"], c["layer_norm_eps"]
        self.c = c
        self.embeddings = nn.Module()
        self.embeddings.word_embeddings = nn.Embedding(c["vocab_size"], d)
        self.embeddings.position_embeddings = nn.Embedding(c["max_position_embeddings"], d)
        self.embeddings.token_type_embeddings = nn.Embedding(c["type_vocab_size"], d)
        self.embeddings.LayerNorm = nn.LayerNorm(d, eps=eps)
        self.layers = nn.ModuleList(BertLayer(c) for _ in range(c["num_hidden_layers"]))
        self.pooler = nn.Linear(d, d)
        self.classifier = nn.Linear(d, c["num_labels"])
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, ids, mask, types=None):
        if types is None:
            types = torch.zeros_like(ids)
        p = self.c["hidden_dropout_prob"] if self.training else 0.0
        e = self.embeddings
        h = e.word_embeddings(ids) + e.token_type_embeddings(types) + e.position_embeddings(torch.arange(ids.shape[1]))[None]
        h = F.dropout(e.LayerNorm(h), p, self.training)
        bias = padding_bias(mask)
        for layer in self.layers:
            h = layer(h, bias)
        pooled = torch.tanh(self.pooler(h[:, 0]))
        return self.classifier(F.dropout(pooled, p, self.training)), pooled, h

    def state_dict_hf(self):
        sd = {}
        for k, v in self.state_dict().items():
            if k.startswith("embeddings."):
                sd["bert." + k] = v
            elif k.startswith("layers."):
                sd["bert.encoder.layer." + k[len("layers."):]] = v
            elif k.startswith("pooler."):
                sd["bert.pooler.dense." + k[len("pooler."):]] = v
            else:
                sd[k] = v
        return sd


def train_lang_id(train, heldout):
    t0 = time.time()
    tok = LangIdTokenizer()
    c = {"vocab_size": len(tok.vocab), "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 256, "max_position_embeddings": 64, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
         "hidden_dropout_prob": 0.1, "num_labels": 2}
    rng = random.Random(SEED + 2)
    # Whole sentences, and fragments of 1-4 words so that short inputs are classified too.
    examples = []
    for e, s in train[:12000]:
        examples.append((e, 0)); examples.append((s, 1))
        for text, label in ((e, 0), (s, 1)):
            w = text.split()
            n = rng.randint(1, min(4, len(w)))
            i = rng.randint(0, len(w) - n)
            frag = " ".join(w[i:i + n])
            if frag.lower() not in ("no",):  # "no" alone is not English in this grammar but is too ambiguous
                examples.append((frag, label))
    seqs = [(tok.encode(t), l) for t, l in examples]
    torch.manual_seed(SEED + 2)
    model = Bert(c)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
    steps, batch = int(os.environ.get("LANG_ID_STEPS", 300)), 64
    order = []
    model.train()
    for step in range(steps):
        if len(order) < batch:
            order = list(range(len(seqs)))
            rng.shuffle(order)
        idx, order = order[:batch], order[batch:]
        ids, mask = pad_batch([seqs[i][0] for i in idx], tok.PAD)
        labels = torch.tensor([seqs[i][1] for i in idx])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, 1e-3, 50)
        logits, _, _ = model(ids, mask)
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 200 == 0 or step == steps - 1:
            print(f"  lang-id step {step:5d} loss {loss.item():.4f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    train_time = time.time() - t0

    correct, total, records = 0, 0, []
    with torch.no_grad():
        for k, (e, s) in enumerate(heldout):
            for text, label in ((e, 0), (s, 1)):
                ids = tok.encode(text)
                logits, pooled, _ = model(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))
                pred = int(logits[0].argmax())
                correct += pred == label
                total += 1
                if k < 20:
                    records.append({"text": text, "input_ids": ids, "logits": [float(x) for x in logits[0]],
                                    "pooler_output_first8": [float(x) for x in pooled[0, :8]],
                                    "label": ["en", "es"][pred], "expected": ["en", "es"][label]})
    acc = correct / total
    print(f"  lang-id held-out accuracy: {correct}/{total} = {acc:.1%} (training {train_time:.0f}s)")

    folder = os.path.join(HERE, "lang-id")
    os.makedirs(folder, exist_ok=True)
    config = {
        "architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": c["vocab_size"],
        "hidden_size": c["hidden_size"], "num_hidden_layers": c["num_hidden_layers"],
        "num_attention_heads": c["num_attention_heads"], "intermediate_size": c["intermediate_size"],
        "hidden_act": "gelu", "hidden_dropout_prob": c["hidden_dropout_prob"], "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": c["max_position_embeddings"], "type_vocab_size": c["type_vocab_size"],
        "initializer_range": 0.02, "layer_norm_eps": c["layer_norm_eps"], "pad_token_id": 0,
        "position_embedding_type": "absolute", "classifier_dropout": None,
        "id2label": {"0": "en", "1": "es"}, "label2id": {"en": 0, "es": 1}, "torch_dtype": "float32",
    }
    write_json(os.path.join(folder, "config.json"), config)
    save_safetensors(os.path.join(folder, "model.safetensors"), model.state_dict_hf())
    write_json(os.path.join(folder, "tokenizer.json"), tok.to_json())
    write_rows_json(os.path.join(TEST_DATA, "lang_id_torch.json"), {
        "description": "examples/models/lang-id in torch (train_demos.py): held-out sentences of both "
                       "languages, their input ids ([CLS] ... [SEP]), the classifier logits, the first 8 "
                       "values of the pooler output and the predicted label (id2label).",
        "accuracy": acc, "sentences": records}, "sentences")
    return {"accuracy": acc, "train_seconds": train_time, "tokenizer": tok,
            "texts": [t for p in train[:3000] + heldout for t in p]}


def main():
    # One thread by default: on a machine shared with other work, two torch threads that
    # spin-wait for each other were up to 10x slower per step than one. DEMO_THREADS=2 on an
    # idle machine is a little faster (results may then differ in the last bits).
    torch.set_num_threads(int(os.environ.get("DEMO_THREADS", 1)))
    wanted = sys.argv[1:] or ["en-es", "tiny-lm", "lang-id"]
    t0 = time.time()
    train, heldout = make_corpus()
    print(f"corpus: {len(train)} training pairs, {len(heldout)} held out ({time.time() - t0:.1f}s)")
    results = {}
    if "en-es" in wanted:
        results["en-es"] = train_en_es(train, heldout)
    if "tiny-lm" in wanted:
        results["tiny-lm"] = train_tiny_lm(train)
    if "lang-id" in wanted:
        results["lang-id"] = train_lang_id(train, heldout)
    # A text dump for checking the tokenizer.json files against the reference tokenizers library.
    if os.environ.get("DUMP_TOKENIZED"):
        dump = {}
        for name, r in results.items():
            tok = r["tokenizer"]
            dump[name] = [[t, tok.encode(t)] for t in r["texts"]]
        write_json(os.environ["DUMP_TOKENIZED"], dump, compact=True)
    print(f"total {time.time() - t0:.0f}s")
    for name, r in results.items():
        print(name, {k: v for k, v in r.items() if k not in ("tokenizer", "texts")})


if __name__ == "__main__":
    main()
