#!/usr/bin/env python3
"""Writes unicode_tables.inc: where HF `tokenizers` (BertNormalizer / BertPreTokenizer) and the
system utf8proc disagree about a code point.

The tokenizer classifies code points with utf8proc (Debian libutf8proc). HF `tokenizers` uses the
Rust `unicode_categories` crate (an older Unicode version) for control, punctuation and
nonspacing-mark tests, `unicode-normalization` for NFD and canonical combining classes (both an
older Unicode version too) and Rust's char::to_lowercase for case.
This script probes the pinned `tokenizers` package one code point at a time, asks utf8proc (via
ctypes) the same questions, and writes only the differences as toggle ranges and overrides.

Run from the repository root with the project venv:
  .venv/bin/python src/tokenizer/internal/generate_unicode_tables.py
Re-run when python/requirements-dev.txt changes `tokenizers` or Debian changes libutf8proc; the
test tests/vectors/tokenizer/minilm_codepoints.jsonl.gz then checks the result code point by
code point.
"""

import ctypes
import os
import sys

import tokenizers
from tokenizers import normalizers, pre_tokenizers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unicode_tables.inc")

_u = ctypes.CDLL("libutf8proc.so.2")
_u.utf8proc_category.restype = ctypes.c_int
_u.utf8proc_tolower.restype = ctypes.c_int32
_u.utf8proc_decompose_char.restype = ctypes.c_ssize_t
_u.utf8proc_unicode_version.restype = ctypes.c_char_p
_u.utf8proc_version.restype = ctypes.c_char_p
UTF8PROC_DECOMPOSE = 1 << 4
CAT_MN = 6
CAT_P = range(12, 19)  # Pc Pd Ps Pe Pi Pf Po
CAT_DROP = (26, 27, 28, 29)  # Cc Cf Cs Co
_buf = (ctypes.c_int32 * 32)()


class _Property(ctypes.Structure):
    _fields_ = [("category", ctypes.c_int16), ("combining_class", ctypes.c_int16)]


_u.utf8proc_get_property.restype = ctypes.POINTER(_Property)


def all_code_points():
    return [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]


def u_nfd(cp):
    last = ctypes.c_int(0)
    n = _u.utf8proc_decompose_char(cp, _buf, 32, UTF8PROC_DECOMPOSE, ctypes.byref(last))
    assert n > 0
    return [_buf[i] for i in range(n)]


def u_ccc(cp):
    return _u.utf8proc_get_property(cp).contents.combining_class


def hf_combining_classes(nfd, candidates):
    """HF's canonical combining class for each candidate, found by how its NFD orders it against
    one reference mark per class value v: NFD("a" m r_v) swaps exactly when 0 < v < ccc(m), and
    NFD("a" r_v m) swaps exactly when 0 < ccc(m) < v."""
    def swaps(text):
        return nfd.normalize_str(text) != text

    def consistent(r, v):
        # HF must agree that r sorts after ccc 1 (U+0334) and before ccc 240 (U+0345).
        low_ok = v == 1 or swaps("a" + r + "\u0334")
        high_ok = v == 240 or swaps("a\u0345" + r)
        return low_ok and high_ok

    reference = {}
    for cp in all_code_points():
        v = u_ccc(cp)
        if v and v not in reference and consistent(chr(cp), v):
            reference[v] = chr(cp)
    out = {}
    for cp in candidates:
        m = chr(cp)
        below, above, equal = [], [], []
        for v, r in sorted(reference.items()):
            if r == m:
                equal.append(v)
            elif nfd.normalize_str("a" + m + r) != "a" + m + r:
                below.append(v)
            elif nfd.normalize_str("a" + r + m) != "a" + r + m:
                above.append(v)
            else:
                equal.append(v)
        if not below and not above:
            out[cp] = 0  # never reordered: a starter
        elif len(equal) == 1:
            out[cp] = equal[0]
        else:
            assert not equal, (hex(cp), equal)
            out[cp] = max(below) + 1 if below else min(above) - 1
    return out


def ascii_punct(cp):
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126


def ranges(cps):
    out = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def main():
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=False)
    lower = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=False, lowercase=True)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                       strip_accents=True, lowercase=False)
    nfd = normalizers.NFD()
    pretok = pre_tokenizers.BertPreTokenizer()

    # Canonical combining classes: every code point that either side may treat as a mark.
    # Only code points NFD leaves alone can be reordered as themselves.
    candidates = [cp for cp in all_code_points()
                  if nfd.normalize_str(chr(cp)) == chr(cp) and u_nfd(cp) == [cp] and
                  (u_ccc(cp) > 0 or
                  nfd.normalize_str("a\u0301" + chr(cp)) != "a\u0301" + chr(cp) or
                  nfd.normalize_str("a" + chr(cp) + "\u0334") != "a" + chr(cp) + "\u0334")]
    ccc_over = {cp: v for cp, v in hf_combining_classes(nfd, candidates).items() if v != u_ccc(cp)}

    hf_drop, base_drop, hf_punct, base_punct, hf_mark, base_mark = (set() for _ in range(6))
    lower_over, nfd_over = {}, {}
    for cp in all_code_points():
        c = chr(cp)
        cat = _u.utf8proc_category(cp)
        if clean.normalize_str(c) == "":
            hf_drop.add(cp)
        if cp not in (9, 10, 13) and (cat in CAT_DROP or cp == 0xFFFD):
            base_drop.add(cp)
        if len(pretok.pre_tokenize_str("x" + c + "x")) == 3:
            hf_punct.add(cp)
        if ascii_punct(cp) or cat in CAT_P:
            base_punct.add(cp)
        # A code point reaches the mark filter only when NFD leaves it alone, so probing each code
        # point alone gives the filter's decision for every code point that can reach it.
        if strip.normalize_str(c) == "":
            hf_mark.add(cp)
        if cat == CAT_MN:
            base_mark.add(cp)
        hl = [ord(x) for x in lower.normalize_str(c)]
        if hl != [_u.utf8proc_tolower(cp)]:
            lower_over[cp] = hl
        hn = [ord(x) for x in nfd.normalize_str(c)]
        if hn != u_nfd(cp):
            nfd_over[cp] = hn
    # Whitespace-turned-space and CJK are fixed lists in unicode.cc; they are checked by the test.
    for name, seqs in (("lowercase", lower_over), ("nfd", nfd_over)):
        assert all(1 <= len(s) <= 3 for s in seqs.values()), name

    def emit_ranges(f, name, comment, hf, base):
        r = ranges(hf ^ base)
        f.write(f"// {comment}\nconstexpr CodePointRange {name}[] = {{\n")
        for a, b in r:
            f.write(f"    {{0x{a:04X}, 0x{b:04X}}},\n")
        f.write("};\n\n")

    def emit_map(f, name, comment, m):
        f.write(f"// {comment}\nconstexpr CodePointMapping {name}[] = {{\n")
        for cp in sorted(m):
            seq = m[cp]
            vals = ", ".join(f"0x{x:04X}" for x in seq)
            f.write(f"    {{0x{cp:04X}, {len(seq)}, {{{vals}}}}},\n")
        f.write("};\n\n")

    with open(OUT, "w", encoding="utf-8") as f:
        f.write("// Generated by generate_unicode_tables.py; do not edit.\n")
        f.write(f"// tokenizers {tokenizers.__version__}, utf8proc "
                f"{_u.utf8proc_version().decode()} (Unicode "
                f"{_u.utf8proc_unicode_version().decode()}).\n")
        f.write("// Toggle ranges flip utf8proc's answer; mappings replace it.\n\n")
        emit_ranges(f, "kCleanDropToggles",
                    "Code points whose removal by clean_text differs from utf8proc Cc/Cf/Cs/Co.",
                    hf_drop, base_drop)
        emit_ranges(f, "kPunctuationToggles",
                    "Code points whose punctuation status differs from ASCII + utf8proc P*.",
                    hf_punct, base_punct)
        emit_ranges(f, "kStripMarkToggles",
                    "Code points whose removal by strip_accents differs from utf8proc Mn.",
                    hf_mark, base_mark)
        emit_map(f, "kLowercaseOverrides",
                 "Code points whose lowercase (Rust char::to_lowercase) differs from utf8proc.",
                 lower_over)
        f.write("// Code points whose canonical combining class differs from utf8proc's.\n"
                "constexpr CombiningClassOverride kCombiningClassOverrides[] = {\n")
        for cp in sorted(ccc_over):
            f.write(f"    {{0x{cp:04X}, {ccc_over[cp]}}},\n")
        f.write("};\n\n")
        emit_map(f, "kNfdOverrides",
                 "Code points whose NFD (unicode-normalization) differs from utf8proc.", nfd_over)
    print(f"wrote {OUT}: {len(ranges(hf_drop ^ base_drop))} drop, "
          f"{len(ranges(hf_punct ^ base_punct))} punct, {len(ranges(hf_mark ^ base_mark))} mark "
          f"ranges; {len(lower_over)} lowercase, {len(nfd_over)} nfd, {len(ccc_over)} ccc overrides", file=sys.stderr)


if __name__ == "__main__":
    main()
