#!/usr/bin/env python3
"""Builds the tokenizer parity vectors from the pinned Hugging Face `tokenizers` package.

Writes, next to this script:
  minilm_parity.jsonl.gz     header line, then {"text", "ids"} per case: all-MiniLM-L6-v2 ids
                             (add_special_tokens, truncation at 512, no padding).
  minilm_codepoints.json.gz  per-code-point and per-string normalizer + pre-tokenizer output for
                             three BertNormalizer configurations (uncased, cased, lowercase
                             without accent stripping).

Deterministic: a fixed seed, no clock, sorted iteration. Run from the repository root:
  .venv/bin/python tests/vectors/tokenizer/generate.py [--shared ../shared]
"""

import argparse
import gzip
import json
import os
import random

import tokenizers
from tokenizers import Tokenizer, normalizers, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240521
MAX_LENGTH = 512
VOCAB_CHUNK = 64

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!",
    "This is a test sentence for the tokenizer, with sixteen words in it, more or less.",
    "Sentence embeddings map text to dense vectors for semantic search.",
    "I can't believe it's not butter!",
    "Don't stop believin' -- hold on to that feelin'.",
    "e-mail: someone@example.com, url: https://example.org/path?q=1&r=2#frag",
    "Prices rose 3.5% to $1,234.56 in Q3 2023 (year-over-year).",
    "unaffable unbelievable tokenization preprocessing hyperparameterization",
    "HELLO World MiXeD CaSe",
    "[CLS] [SEP] [PAD] [MASK] [UNK] inside text",
    "[cls] [sep] lowercase specials are not special",
    "[MASK][MASK]x[SEP]y[UNK]",
    "[unused0] [unused99] [unused998]",
    "###hashtag ##suffix #one",
    "New York-based A.I. start-up raised $5M.",
    "She said, \"Hello!\" and left...",
    "Tabs\tand\nnewlines\r\nand  double  spaces",
]
SPECIAL = [
    "", " ", "   ", "\t\n\r", "\u00a0\u3000\u2028\u2029\u202f\u205f\u1680\u2000\u200a",
    "\x00", "a\x00b", "\ufffd", "a\ufffdb", "\x01\x02\x03\x1b[31mred\x1b[0m", "\x7f\x80\x85\x9f",
    "a\u200bb", "a\u200cb\u200dc", "\ufeffbom", "zero\u2060width", "\u202eRTL override\u202c",
    "!!!", "?!?!", "...", "---", "((()))", "\"quoted\"", "a.b,c;d:e", "~`@#$%^&*_+=|\\/<>{}[]",
    "\u00bfQu\u00e9?", "\u00a1Hola!", "\u2014\u2013\u2026\u00ab\u00bb\u201c\u201d\u2018\u2019",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 co\u00f6perate", "cafe\u0301 (combining)",
    "\u00c5ngstr\u00f6m \u212bngstr\u00f6m", "\u0130stanbul \u0131\u0130 \u0049\u0307",
    "Stra\u00dfe \u1e9e \u00df", "\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2 \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645", "\u0627\u0644\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u064e\u0651\u0629",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd", "\u05d1\u05b0\u05bc\u05e8\u05b5\u05d0\u05e9\u05b4\u05c1\u05d9\u05ea",
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22", "\u0939\u093f\u0928\u094d\u0926\u0940 \u092d\u093e\u0937\u093e",
    "\U00020000\U0002a6df\U0002a700\U0002b820\U0002b920\U0002ceaf\U0002ceb0\U0002f800\U00030000",
    "\uf900\ufa0e\ufaff", "\u3400\u4dbf\u4e00\u9fff\u3007",
    "\U0001f600 \U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467 \u2764\ufe0f \U0001f1fa\U0001f1f8",
    "\U0001f970\U0001fae0\U0001faf6", "emoji\U0001f600inside\U0001f600words",
    "\uff21\uff22\uff23 \uff41\uff42\uff43 \uff11\uff12\uff13", "\u2460\u2461 \u00bd \u2153 x\u00b2",
    "\u1d2c\u1d2e \u02b0\u02b2", "\ufb01 \ufb02 \u0132\u0133", "\u2126 \u212a \u00b5",
    "a\u0301\u0316b \u1e09\u0323", "q\u0307\u0323 q\u0323\u0307",
    "\U0001d165\U0001d16d\u0301 x\U0001d16d\U0001d165", "\u0f71\u0f72\u0f74\u0f80",
    "\U00011938 \U00011935\U00011930", "\u0890\u0891\u08e2 \U000110cd \U00013430",
    "\u061d\u166d\u2e43\u2e52\u2e5d", "\u1c89 \ua7cb \ua7dc \U00010d50",
    "\U000e0001\U000e0020\U000e007f \uf8ff \U000f0000 \U0010fffd", "\u0378\u0379 \U000e01ef \U0010ffff",
    "a" * 99, "a" * 100, "a" * 101, "b" * 250, "\u00e9" * 100 + " x", "\u00e9" * 101,
    "x" + "\u0301" * 150, "\u4e00" * 120, "ab" * 60 + "!" + "cd" * 60,
    "supercalifragilisticexpialidocious" * 4, "pneumonoultramicroscopicsilicovolcanoconiosis",
]

# Pools for random strings.
POOLS = {
    "ascii_word": None,  # filled from the vocab
    "punct": list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["\u00bf", "\u00a1", "\u2014", "\u2026",
                                                           "\u3002", "\uff0c", "\u060c", "\u05be"],
    "space": [" ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u2009", "\u2028", "\x0b",
              "\x0c", "\x85", "\x1c"],
    "control": ["\x00", "\x01", "\x08", "\x1b", "\x7f", "\x9f", "\u200b", "\u200c", "\u200d",
                "\u200e", "\u200f", "\u2060", "\ufeff", "\ufffd", "\u00ad", "\u061c", "\ue000"],
    "latin_accent": [chr(c) for c in range(0xC0, 0x250)] + ["\u1e9e", "\u0130", "\u0131"],
    "combining": [chr(c) for c in range(0x300, 0x370)] + ["\u0591", "\u05bc", "\u064b", "\u0670",
                                                           "\u093c", "\u0e31", "\u3099"],
    "greek": [chr(c) for c in range(0x386, 0x3d0)],
    "cyrillic": [chr(c) for c in range(0x400, 0x460)],
    "arabic": [chr(c) for c in range(0x621, 0x64b)] + [chr(c) for c in range(0x660, 0x66a)],
    "hebrew": [chr(c) for c in range(0x5d0, 0x5eb)],
    "devanagari": [chr(c) for c in range(0x905, 0x94e)],
    "thai": [chr(c) for c in range(0xe01, 0xe3b)],
    "cjk": [chr(c) for c in range(0x4e00, 0x4e80)] + [chr(c) for c in range(0x3041, 0x3097)] +
           [chr(c) for c in range(0x30a1, 0x30fb)] + ["\u3400", "\U00020001", "\uf900"],
    "hangul": [chr(c) for c in range(0xac00, 0xac80)] + [chr(c) for c in range(0x1100, 0x1113)],
    "emoji": [chr(c) for c in range(0x1f600, 0x1f650)] + ["\U0001f3fb", "\ufe0f", "\u200d",
                                                           "\u2764", "\U0001f1e6", "\U0001f970"],
    "fullwidth": [chr(c) for c in range(0xff01, 0xff5f)],
}


def random_code_point(rng):
    while True:
        plane = rng.choice([0, 0, 0, 1, 1, 2, 3, 14, 15, 16])
        cp = plane * 0x10000 + rng.randrange(0x10000)
        if not 0xD800 <= cp <= 0xDFFF:
            return chr(cp)


def random_text(rng, n_tokens):
    parts = []
    kinds = list(POOLS)
    for _ in range(n_tokens):
        kind = rng.choice(kinds + ["ascii_word"] * 6 + ["space"] * 6 + ["any"])
        if kind == "any":
            parts.append(random_code_point(rng))
        elif kind == "ascii_word":
            word = rng.choice(POOLS["ascii_word"])
            if rng.random() < 0.2:
                word = word.upper()
            elif rng.random() < 0.2:
                word = word.capitalize()
            parts.append(word)
        else:
            k = rng.choice([1, 1, 2, 3, 5])
            parts.append("".join(rng.choice(POOLS[kind]) for _ in range(k)))
    return "".join(parts)


def build_corpus(vocab_tokens, encode_len):
    rng = random.Random(SEED)
    POOLS["ascii_word"] = [t.lstrip("#") or "#" for t in vocab_tokens
                           if t.isascii() and t.lstrip("#").isalpha()]
    cases = list(ENGLISH) + list(SPECIAL)
    # Every vocabulary entry, in vocab id order, in chunks small enough never to be truncated.
    i = 0
    while i < len(vocab_tokens):
        n = VOCAB_CHUNK
        while True:
            text = " ".join(vocab_tokens[i:i + n])
            if encode_len(text) <= MAX_LENGTH or n == 1:
                break
            n //= 2
        assert encode_len(text) <= MAX_LENGTH, text
        cases.append(text)
        i += n
    # Glued vocabulary pieces: exercises greedy longest-match and ## continuation.
    for _ in range(300):
        k = rng.randint(2, 5)
        cases.append("".join(rng.choice(vocab_tokens).lstrip("#") for _ in range(k)))
    # Random mixed-script strings.
    for _ in range(1500):
        cases.append(random_text(rng, rng.randint(1, 40)))
    # Random code points from every plane (no surrogates).
    for _ in range(400):
        cases.append("".join(random_code_point(rng) for _ in range(rng.randint(1, 30))))
    # Long texts (about 10,000 characters each).
    for _ in range(8):
        text = ""
        while len(text) < 10000:
            text += random_text(rng, 50)
        cases.append(text[:10000])
    cases.append(("word " * 2000)[:10000])
    cases.append("x" * 10000)
    return cases


def codepoint_vectors():
    configs = [
        ("uncased", dict(clean_text=True, handle_chinese_chars=True, strip_accents=True,
                         lowercase=True)),
        ("cased", dict(clean_text=True, handle_chinese_chars=True, strip_accents=False,
                       lowercase=False)),
        ("lower_keep_accents", dict(clean_text=True, handle_chinese_chars=True,
                                    strip_accents=False, lowercase=True)),
        ("raw", dict(clean_text=False, handle_chinese_chars=False, strip_accents=False,
                     lowercase=False)),
    ]
    pretok = pre_tokenizers.BertPreTokenizer()
    rng = random.Random(SEED + 1)
    strings = [s for s in SPECIAL if len(s) < 200]
    marks = [chr(c) for c in range(0x300, 0x370)] + ["\u0591", "\u05bc", "\u0f71", "\u0f72",
                                                     "\U0001d165", "\U0001d16d", "\u1dfa",
                                                     "\u0898", "\u08ca"]
    for _ in range(300):
        s = rng.choice(["a", "e", "\u00e9", "\u1e09", "x", "\u0130", "\u03b1"])
        s += "".join(rng.choice(marks) for _ in range(rng.randint(1, 6)))
        strings.append(s + rng.choice(["", " ", "b", "\u0301"]))
    out = {"tokenizers_version": tokenizers.__version__, "probe": "x{c}x", "configs": []}
    for name, flags in configs:
        norm = normalizers.BertNormalizer(**flags)

        def words(text):
            return [w for w, _ in pretok.pre_tokenize_str(norm.normalize_str(text))]

        runs, explicit = [], []
        for cp in range(0x110000):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            c = chr(cp)
            got = words("x" + c + "x")
            if got == ["x" + c + "x"]:
                continue
            kind = {("x", c, "x"): "split", ("xx",): "drop", ("x", "x"): "space"}.get(tuple(got))
            if kind is None:
                explicit.append([cp, got])
            elif runs and runs[-1][2] == kind and runs[-1][1] == cp - 1:
                runs[-1][1] = cp
            else:
                runs.append([cp, cp, kind])
        out["configs"].append({
            "name": name, "flags": flags, "runs": runs, "explicit": explicit,
            "strings": [[s, words(s)] for s in strings],
        })
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=os.path.join(HERE, "..", "..", "..", "..", "shared"))
    args = parser.parse_args()
    path = os.path.join(args.shared, "vectors", "minilm", "tokenizer.json")
    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.no_truncation()
    vocab = tok.get_vocab()
    vocab_tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    assert len(vocab_tokens) == 30522
    cases = build_corpus(vocab_tokens, lambda t: len(tok.encode(t).ids))
    tok.enable_truncation(max_length=MAX_LENGTH)
    lines = [json.dumps({"tokenizers_version": tokenizers.__version__, "count": len(cases),
                         "max_length": MAX_LENGTH, "seed": SEED})]
    for text in cases:
        ids = tok.encode(text).ids
        lines.append(json.dumps({"text": text, "ids": ids}, ensure_ascii=False))
    with gzip.GzipFile(os.path.join(HERE, "minilm_parity.jsonl.gz"), "wb", mtime=0) as f:
        f.write(("\n".join(lines) + "\n").encode("utf-8"))
    with gzip.GzipFile(os.path.join(HERE, "minilm_codepoints.json.gz"), "wb", mtime=0) as f:
        f.write(json.dumps(codepoint_vectors(), ensure_ascii=False).encode("utf-8"))
    print(f"{len(cases)} parity cases")


if __name__ == "__main__":
    main()
