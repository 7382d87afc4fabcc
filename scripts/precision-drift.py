#!/usr/bin/env python3
"""Measures how far a reduced precision (int8 or bf16) drifts from fp32 on the tokenizer parity
corpus (tests/vectors/tokenizer/minilm_parity.jsonl.gz: ~2,700 strings of plain English,
punctuation runs, CJK, emoji, RTL scripts, control characters, very long words and 10k-character
texts), a much wider text set than the 210 sentences of the accuracy gate. Prints the minimum,
1st percentile and median cosine of each text's embedding against the fp32 one, the number below
the gate (0.999) and the five worst texts. Exit 1 when any text is below the gate.

Our fp32 matches ONNX Runtime fp32 to ~1e-7 (make bench-peers), so it stands in for the
reference here. Run with the project venv after a build:
    .venv/bin/python scripts/precision-drift.py [--build build] [--precision int8] [--threads 2]
"""

import argparse
import gzip
import json
import pathlib
import subprocess
import sys

import numpy as np

GATE = 0.999
ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests/vectors/tokenizer/minilm_parity.jsonl.gz"
MAX_TEXTS_PER_CALL = 100
MAX_ARGUMENT_BYTES = 500_000  # stays well under the kernel's limit on one command line


def load_texts():
    # Split on "\n" only: the corpus holds U+2028 and other characters str.splitlines() breaks on.
    lines = gzip.open(CORPUS, "rt", encoding="utf-8").read().split("\n")[1:]  # line 0: metadata
    texts = [json.loads(line)["text"] for line in lines if line.strip()]
    return [t for t in texts if "\x00" not in t]  # a NUL cannot travel in argv


def embed(cli, precision, threads, texts):
    done = subprocess.run([cli, "embed-local", "--precision", precision, "--threads", str(threads),
                           "--", *texts], capture_output=True, check=False)
    if done.returncode != 0:
        sys.exit(f"precision-drift: embed-local --precision {precision} failed: "
                 f"{done.stderr.decode(errors='replace').strip()[:300]}")
    rows = json.loads(done.stdout)["data"]
    return np.array([row["embedding"] for row in rows], dtype=np.float64)


def chunks(texts):
    chunk, size = [], 0
    for text in texts:
        n = len(text.encode())
        if chunk and (len(chunk) == MAX_TEXTS_PER_CALL or size + n > MAX_ARGUMENT_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(text)
        size += n
    if chunk:
        yield chunk


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--precision", default="int8", choices=["int8", "bf16"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    cli = str(pathlib.Path(args.build) / "apps/ephemeralml")
    texts = load_texts()
    cosines, scored = [], []
    for i, chunk in enumerate(chunks(texts)):
        ref = embed(cli, "fp32", args.threads, chunk)
        got = embed(cli, args.precision, args.threads, chunk)
        c = (ref * got).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(got, axis=1)
        cosines.extend(c.tolist())
        scored.extend(zip(c.tolist(), chunk))
        print(f"precision-drift: {len(cosines)}/{len(texts)} texts", file=sys.stderr)
    cos = np.array(cosines)
    below = int((cos < GATE).sum())
    print(f"{args.precision} vs fp32 over {len(cos)} texts: min cosine {cos.min():.6f}, "
          f"p01 {np.percentile(cos, 1):.6f}, median {np.median(cos):.6f}, below {GATE}: {below}")
    for c, text in sorted(scored)[:5]:
        print(f"  {c:.6f}  {text[:60]!r}")
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
