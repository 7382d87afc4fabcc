#!/usr/bin/env python3
"""Compares our engine with ONNX Runtime (and sentence-transformers when importable) on the same
inputs, in one invocation, and prints the ratio of medians us/peer per configuration.

Run with the project venv: `make bench-peers`, or
    .venv/bin/python scripts/bench-peers.py [--build build] [--reps 30] [--threads 1,2]

What is timed, for every engine alike: one call from texts to L2-normalized sentence embeddings
(tokenization, encoder, mean pooling, normalization). Ours comes from `embed_bench --json` (the
same harness as `make bench-embed`); ORT runs model.onnx (fp32) and model.int8.onnx from the model
directory with graph optimizations ORT_ENABLE_ALL, intra_op_num_threads = our thread count,
inter_op_num_threads = 1 and sequential execution, tokenizing with Hugging Face `tokenizers` and
padding a batch to its longest text, as a typical ORT deployment does. Inputs are the texts of
embed_bench's cases (`embed_bench --print-inputs`). Results: bench/results/peers.json.
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(*args):
    print(*args, flush=True)


def default_model_dir():
    env = os.environ.get("EML_MODEL_DIR")
    if env:
        return env
    return os.path.join(os.path.expanduser("~"), ".cache/ephemeralml/models/all-MiniLM-L6-v2")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=12"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def quantile(sorted_samples, q):
    pos = q * (len(sorted_samples) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_samples) - 1)
    return sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * (pos - lo)


def summarize(samples_ms):
    s = sorted(samples_ms)
    return {
        "p50_ms": quantile(s, 0.5),
        "p95_ms": quantile(s, 0.95),
        "p99_ms": quantile(s, 0.99),
        "mean_ms": statistics.fmean(s),
        "stddev_ms": statistics.stdev(s) if len(s) > 1 else 0.0,
        "min_ms": s[0],
        "samples_ms": samples_ms,
    }


def ensure_onnx(model_dir):
    """Returns {variant: path} for the ONNX files, exporting them first when missing."""
    files = {"fp32": os.path.join(model_dir, "model.onnx"),
             "int8": os.path.join(model_dir, "model.int8.onnx")}
    if not all(os.path.exists(p) for p in files.values()):
        exporter = os.path.join(ROOT, "scripts", "export-onnx.py")
        if not os.path.exists(exporter):
            sys.exit("bench-peers: %s missing and scripts/export-onnx.py not found" % files["fp32"])
        log("bench-peers: exporting ONNX models with scripts/export-onnx.py")
        subprocess.run([sys.executable, exporter, "--model-dir", model_dir], check=True, cwd=ROOT)
    missing = [p for p in files.values() if not os.path.exists(p)]
    if missing:
        sys.exit("bench-peers: export did not produce %s" % ", ".join(missing))
    return files


class OrtEmbedder:
    """Texts -> normalized mean-pooled embeddings with ONNX Runtime on the CPU."""

    def __init__(self, onnx_path, tokenizer_path, threads):
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.np = np
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(onnx_path, sess_options=so,
                                            providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output = self.session.get_outputs()[0].name
        self.tokenizer = Tokenizer.from_file(tokenizer_path)
        self.tokenizer.enable_truncation(max_length=256)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def embed(self, texts):
        np = self.np
        encs = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        feeds = {}
        for name in self.input_names:
            if name == "input_ids":
                feeds[name] = ids
            elif name == "attention_mask":
                feeds[name] = mask
            elif name == "token_type_ids":
                feeds[name] = np.zeros_like(ids)
            else:
                raise RuntimeError("unexpected ONNX input %s" % name)
        out = self.session.run([self.output], feeds)[0]
        if out.ndim == 3:  # last_hidden_state: mean pooling over real tokens
            m = mask[:, :, None].astype(out.dtype)
            out = (out * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


def time_calls(fn, texts, warmup, reps):
    for _ in range(warmup):
        fn(texts)
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(texts)
        samples.append((time.perf_counter() - t0) * 1000.0)
    return samples


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return -1.0


def run_ours(bench_bin, model_dir, threads, precisions, case, reps, warmup):
    cmd = [bench_bin, "--json", "--no-rss", "--model", model_dir, "--threads", str(threads),
           "--precisions", ",".join(precisions), "--cases", case, "--reps", str(reps),
           "--warmup", str(warmup)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit("bench-peers: %s failed: %s" % (" ".join(cmd), proc.stderr.strip()))
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def rss_probe_main(args):
    """Child process: peak RSS of ORT serving batch-32 on 2 threads."""
    cases = json.loads(args.rss_probe_inputs)
    emb = OrtEmbedder(args.rss_probe_onnx, os.path.join(args.model_dir, "tokenizer.json"), 2)
    for _ in range(20):
        emb.embed(cases)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across execve from the (large) parent.
    with open("/proc/self/status") as f:
        hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
    print(json.dumps({"peak_rss_mb": hwm / 1024.0}))


def accuracy_vs_ort(ephemeralml, model_dir, texts, ort_fp32, precisions):
    """Max |ours - ORT fp32| per component, per precision, via `ephemeralml embed-local`."""
    import numpy as np
    want = ort_fp32.embed(texts)
    out = {}
    for p in precisions:
        proc = subprocess.run([ephemeralml, "embed-local", "--model", model_dir, "--precision", p,
                               "--threads", "2", *texts], capture_output=True, text=True)
        if proc.returncode != 0:
            out[p] = {"skipped": proc.stderr.strip()}
            continue
        doc = json.loads(proc.stdout)
        got = np.array([row["embedding"] for row in doc["data"]], dtype=np.float64)
        cos = (got * want).sum(axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
        out[p] = {"max_abs_diff": float(np.abs(got - want).max()), "min_cosine": float(cos.min())}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model-dir", default=default_model_dir())
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--precisions", default="fp32,bf16,int8")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results/peers.json"))
    ap.add_argument("--rss-probe-onnx", help=argparse.SUPPRESS)
    ap.add_argument("--rss-probe-inputs", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_probe_onnx:
        return rss_probe_main(args)

    import onnxruntime as ort

    bench_bin = os.path.join(args.build, "bench", "embed_bench")
    if not os.path.exists(bench_bin):
        sys.exit("bench-peers: %s not built (make build)" % bench_bin)
    if not os.path.exists(os.path.join(args.model_dir, "model.safetensors")):
        sys.exit("bench-peers: no model in %s (run scripts/fetch-model)" % args.model_dir)
    onnx_files = ensure_onnx(args.model_dir)
    tokenizer_path = os.path.join(args.model_dir, "tokenizer.json")
    threads_list = [int(t) for t in args.threads.split(",")]
    precisions = args.precisions.split(",")

    inputs = json.loads(subprocess.run([bench_bin, "--print-inputs", "--model", args.model_dir],
                                       capture_output=True, text=True, check=True).stdout)
    if args.cases:
        inputs = [c for c in inputs if c["case"] in args.cases.split(",")]
    meta = {
        "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git_commit(),
        "cpu_model": cpu_model(),
        "nproc": os.cpu_count(),
        "onnxruntime": ort.__version__,
        "ort_session": "ORT_ENABLE_ALL, intra_op=threads, inter_op=1, ORT_SEQUENTIAL, CPU EP",
        "reps": args.reps,
        "warmup": args.warmup,
        "timed": "texts -> normalized embeddings (tokenize, encode, pool, normalize)",
    }
    if importlib.util.find_spec("sentence_transformers") is None:
        meta["sentence_transformers"] = ("not installed in the venv (torch is too heavy for it); "
                                         "skipped")
    else:
        import sentence_transformers
        meta["sentence_transformers"] = sentence_transformers.__version__
    log("bench-peers: %s, commit %s, onnxruntime %s, %d reps (+%d warmup)" %
        (meta["cpu_model"], meta["git_commit"], meta["onnxruntime"], args.reps, args.warmup))
    log("bench-peers: sentence-transformers: %s" % meta["sentence_transformers"])

    # Interleaved per (threads, case), so that load from other processes on a shared machine
    # falls on both sides alike: ours (every precision), then each peer, on the same texts.
    ours, peers = [], []
    st_model = None
    if not meta["sentence_transformers"].startswith("not installed"):
        from sentence_transformers import SentenceTransformer
        st_model = SentenceTransformer(args.model_dir, device="cpu")
    for threads in threads_list:
        sessions = {v: OrtEmbedder(p, tokenizer_path, threads) for v, p in onnx_files.items()}
        for case in inputs:
            texts = case["texts"]
            log("bench-peers: t=%d %s (load average %.1f)" % (threads, case["case"], loadavg()))
            ours += run_ours(bench_bin, args.model_dir, threads, precisions, case["case"],
                             args.reps, args.warmup)
            peer_fns = [("onnxruntime", v, e.embed) for v, e in sessions.items()]
            if st_model is not None:
                import torch
                torch.set_num_threads(threads)
                peer_fns.append(("sentence-transformers", "fp32",
                                 lambda t: st_model.encode(t, batch_size=len(t),
                                                           normalize_embeddings=True)))
            for engine, variant, fn in peer_fns:
                row = {"engine": engine, "precision": variant, "threads": threads,
                       "case": case["case"], "batch": len(texts), "tokens": case["tokens"],
                       "loadavg": loadavg()}
                row.update(summarize(time_calls(fn, texts, args.warmup, args.reps)))
                peers.append(row)

    # Peak RSS of ORT under the batch-32 load (a child process each; includes Python + numpy).
    b32 = next((c for c in inputs if c["case"] == "b32"), None)
    rss = {}
    if b32 is not None:
        for variant, path in onnx_files.items():
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--model-dir",
                                   args.model_dir, "--rss-probe-onnx", path,
                                   "--rss-probe-inputs", json.dumps(b32["texts"])],
                                  capture_output=True, text=True)
            if proc.returncode == 0:
                rss["onnxruntime_" + variant] = json.loads(proc.stdout)["peak_rss_mb"]
    meta["peer_peak_rss_mb_b32"] = rss

    # Accuracy cross-check on the batch-8 texts (are we comparing like with like?).
    ephemeralml = os.path.join(args.build, "apps", "ephemeralml")
    b8 = next((c for c in inputs if c["case"] == "b8"), None)
    if os.path.exists(ephemeralml) and b8 is not None:
        ort_fp32 = OrtEmbedder(onnx_files["fp32"], tokenizer_path, 2)
        meta["accuracy_vs_ort_fp32_b8"] = accuracy_vs_ort(ephemeralml, args.model_dir,
                                                          b8["texts"], ort_fp32, precisions)

    # Ratios of medians, us / peer.
    peer_p50 = {(r["engine"], r["precision"], r["threads"], r["case"]): r for r in peers}
    ratios = []
    for r in ours:
        if "skipped" in r or "p50_ms" not in r:
            continue
        for (engine, variant, threads, case), peer in peer_p50.items():
            if threads == r["threads"] and case == r["case"]:
                ratios.append({"case": case, "threads": threads, "ours": r["precision"],
                               "peer": "%s %s" % (engine, variant), "ours_p50_ms": r["p50_ms"],
                               "peer_p50_ms": peer["p50_ms"],
                               "ratio": r["p50_ms"] / peer["p50_ms"],
                               "ratio_of_min": r["min_ms"] / peer["min_ms"]})

    skipped = sorted({r["precision"] + ": " + r["skipped"] for r in ours if "skipped" in r})
    for s in skipped:
        log("bench-peers: ours %s" % s)
    peer_names = sorted({x["peer"] for x in ratios})
    our_names = [p for p in precisions if any(x["ours"] == p for x in ratios)]
    cases = [c["case"] for c in inputs]
    log("")
    log("median latency ratio us/peer (< 1 means we are faster); peer p50 in ms")
    for threads in threads_list:
        header = "t=%d %-8s" % (threads, "case")
        cols = [(o, p) for o in our_names for p in peer_names]
        header += "".join(" %14s" % ("%s/%s" % (o, p.replace("onnxruntime", "ort")
                                                   .replace("sentence-transformers", "st")))
                          for o, p in cols)
        header += "".join(" %10s" % (p.replace("onnxruntime", "ort")
                                      .replace("sentence-transformers", "st") + " ms")
                          for p in peer_names)
        log(header)
        for case in cases:
            line = "    %-8s" % case
            for o, p in cols:
                x = next((x for x in ratios if x["case"] == case and x["threads"] == threads and
                          x["ours"] == o and x["peer"] == p), None)
                line += " %14s" % ("%.2f" % x["ratio"] if x else "-")
            for p in peer_names:
                x = next((x for x in ratios if x["case"] == case and x["threads"] == threads and
                          x["peer"] == p), None)
                line += " %10s" % ("%.3f" % x["peer_p50_ms"] if x else "-")
            log(line)
        log("")
    if rss:
        log("peer peak RSS under b32 load (MB, Python process): " +
            ", ".join("%s %.1f" % kv for kv in sorted(rss.items())))
    if "accuracy_vs_ort_fp32_b8" in meta:
        log("accuracy vs ORT fp32 on b8: " + json.dumps(meta["accuracy_vs_ort_fp32_b8"]))

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "ours": ours, "peers": peers, "ratios": ratios}, f, indent=1)
        f.write("\n")
    log("bench-peers: wrote %s" % args.out)


if __name__ == "__main__":
    main()
