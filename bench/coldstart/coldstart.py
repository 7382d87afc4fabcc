#!/usr/bin/env python3
"""Cold start of the enclave: repeated boots of ephemeralml-enclave, a fresh process each.

Starts the local stack once with `ephemeralml up` (key broker, host with storage and egress
proxies, a first enclave) in a temporary EPHEMERALML_HOME, then boots the same package N more
times with the exact enclave command line `up` used (from run/stack.json), each on its own socket
and ready file, and stops each once ready. Two cases:

  proxied     as `up` runs it: package through the host's storage proxy, key from the broker
              through the host's egress proxy;
  file_store  package straight from file://$EPHEMERALML_HOME/store, broker reached directly.

Per case: the median (and min / max) of every cold_start_us step of the ready file, the wall
time from spawning the process to its ready file, and the CPU time (user + system, all threads,
10 ms ticks) the process had used by then: on a shared machine the CPU time moves much less
with the load than the wall times do. Rows go to --out (JSON list) with the CPU,
core count, load average before and after, git commit and a timestamp.

Usage: bench/coldstart/coldstart.py --build BUILD [--runs N] [--out FILE]
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time

POLL_S = 0.002
BOOT_TIMEOUT_S = 300


def load_avg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit(root):
    try:
        out = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty=-dirty"],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_us(pid):
    """User + system CPU time of process pid so far (its threads, exited ones too), in us."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1_000_000 // os.sysconf("SC_CLK_TCK")


def set_flag(argv, flag, value):
    """Returns argv with flag's value replaced (or, value None, the flag and its value removed)."""
    out = list(argv)
    i = out.index(flag)
    if value is None:
        del out[i:i + 2]
    else:
        out[i + 1] = value
    return out


def boot_once(argv, work, index, log):
    sock = os.path.join(work, f"bench-{index}.sock")
    ready = os.path.join(work, f"bench-{index}.ready.json")
    argv = set_flag(set_flag(argv, "--listen", "unix:" + sock), "--ready-file", ready)
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        while not os.path.exists(ready):
            if proc.poll() is not None:
                raise RuntimeError(f"enclave exited with {proc.returncode} (see {log.name})")
            if time.monotonic() - start > BOOT_TIMEOUT_S:
                raise RuntimeError("enclave not ready in time")
            time.sleep(POLL_S)
        wall_us = int((time.monotonic() - start) * 1e6)
        cpu_to_ready = cpu_us(proc.pid)
        with open(ready) as f:
            info = json.load(f)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    for path in (sock, ready):
        if os.path.exists(path):
            os.remove(path)
    steps = dict(info["cold_start_us"])
    steps["wall_to_ready_us"] = wall_us
    steps["cpu_to_ready_us"] = cpu_to_ready
    return steps


def summarize(case, samples, runs, load_before, common):
    row = dict(common)
    row.update({"case": case, "n": runs, "load_avg_1m_before": load_before,
                "load_avg_1m_after": load_avg()})
    for step in samples[0]:
        values = [s[step] for s in samples]
        name = step[:-3] if step.endswith("_us") else step
        row[f"{name}_ms_median"] = statistics.median(values) / 1000.0
        row[f"{name}_ms_min"] = min(values) / 1000.0
        row[f"{name}_ms_max"] = max(values) / 1000.0
    row["samples_us"] = samples
    return row


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", default=os.path.join(root, "bench", "results", "coldstart.json"))
    args = parser.parse_args()
    cli = os.path.join(root, args.build, "apps", "ephemeralml")

    work = tempfile.mkdtemp(prefix="eml-coldstart-")
    env = dict(os.environ, EPHEMERALML_HOME=os.path.join(work, "home"))
    up = subprocess.run([cli, "up", "--port", "0", "--timeout-s", "600"], env=env,
                        capture_output=True, text=True)
    rows = []
    try:
        if up.returncode != 0:
            sys.exit(f"coldstart: `ephemeralml up` failed:\n{up.stdout}{up.stderr}")
        with open(os.path.join(env["EPHEMERALML_HOME"], "run", "stack.json")) as f:
            stack = json.load(f)
        proxied = stack["enclave"]["argv"]
        # `up` boots from the host's boot configuration (store and egress proxies on Unix
        # sockets); the direct case names the same package with flags, read from the file store.
        enclave = stack["enclave"]
        direct = set_flag(proxied, "--boot-from", None) + [
            "--store", stack["store"], "--model-id", enclave["model_id"],
            "--model-version", enclave["model_version"], "--broker", stack["broker"]["url"]]
        common = {"model": stack["enclave"]["model_id"], "cpu": cpu_model(),
                  "cores": os.cpu_count(), "git_commit": git_commit(root),
                  "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with open(os.path.join(work, "enclaves.log"), "w") as log:
            for case, argv in (("proxied", proxied), ("file_store", direct)):
                load_before = load_avg()
                samples = [boot_once(argv, work, i, log) for i in range(args.runs)]
                row = summarize(case, samples, args.runs, load_before, common)
                rows.append(row)
                print(f"{case:10s} n={args.runs} total median {row['total_ms_median']:.1f} ms, "
                      f"wall to ready median {row['wall_to_ready_ms_median']:.1f} ms "
                      f"(load {load_before:.2f} -> {row['load_avg_1m_after']:.2f})")
                for step in samples[0]:
                    name = step[:-3] if step.endswith("_us") else step
                    print(f"  {name:18s} {row[name + '_ms_median']:8.1f} ms")
    finally:
        subprocess.run([cli, "down"], env=env, capture_output=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(r, sort_keys=True) for r in rows) + "\n]\n")
    print(f"coldstart: results in {args.out}")
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
