#!/usr/bin/env python3
"""Runs qkv_bench_ops_linear (bench/ops/linear_bench.cpp) and prints a markdown table of qkv's
packed GEMM against oneDNN (and OpenBLAS when the program has it) at GPT-2-small / BERT-base shapes.

    python3 bench/run_gemm_table.py [BINARY] [--min-time 0.2] [--isa avx512] [--filter REGEX]
                                    [--save RAW.json] [--from-json RAW.json]

BINARY defaults to build/bench/qkv_bench_ops_linear. "% peak" is qkv's GFLOP/s over
threads x the fma_peak/<isa>/t1 row of the same run. GB/s (weights read per call) is given for
M = 1 only; it measures DRAM bandwidth only for N = 50257, whose 154 MB of weights exceed the
32 MB L3. GFLOP/s are wall-clock rates. On a shared machine absolute figures drift; ratios of
neighbouring rows hold better, and for one thread "same, CPU time" gives the qkv / oneDNN ratio
on the CPU time each used (oneDNN CPU time / qkv CPU time), which time-slicing by other
processes disturbs much less.
Standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys

SHAPE = re.compile(r"M:(\d+)/K:(\d+)/N:(\d+)")


def run_one(binary, min_time, filter_regex):
    cmd = [binary, "--benchmark_format=json", f"--benchmark_min_time={min_time}", f"--benchmark_filter={filter_regex}"]
    print("running:", " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


def run(binary, min_time, filter_regex):
    """qkv's rows and the peers' rows in two processes: the peers' OpenMP/OpenBLAS threads keep
    spinning on both cores after their calls (for longer than the 100 ms the program waits), which
    halved some 2-thread qkv rows that followed a oneDNN row in the same process."""
    listed = subprocess.run([binary, "--benchmark_list_tests"], check=True, stdout=subprocess.PIPE, text=True).stdout
    names = [n for n in listed.split() if not filter_regex or re.search(filter_regex, n)]
    report = None
    for kinds in (("fma_peak", "qkv", "qkv_unpacked"), ("onednn", "openblas", "eigen")):
        chosen = [n for n in names if n.split("/")[0] in kinds]
        if not chosen:
            continue
        part = run_one(binary, min_time, "^(" + "|".join(re.escape(n) for n in chosen) + ")$")
        if report is None:
            report = part
        else:
            report["benchmarks"] += part["benchmarks"]
    return report or {"benchmarks": []}


def parse(report):
    """{(kind, isa, threads, m, k, n): (gflops, gbps, cpu_time)} and {isa: peak GFLOP/s of one thread}."""
    rows, peaks = {}, {}
    for b in report["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        name = b["name"].replace("/real_time", "")
        parts = name.split("/")
        gflops = b.get("GFLOP/s", 0.0) / 1e9
        gbps = b["GB/s"] / 1e9 if "GB/s" in b else None
        if parts[0] == "fma_peak":
            peaks[parts[1]] = gflops
            continue
        shape = SHAPE.search(name)
        if not shape:
            continue
        m, k, n = map(int, shape.groups())
        if parts[0] in ("qkv", "qkv_unpacked"):
            kind, isa, threads = parts[0], parts[1], int(parts[2][1:])
        else:
            kind, isa, threads = parts[0], "", int(parts[1][1:])
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
        rows[(kind, isa, threads, m, k, n)] = (gflops, gbps, b["cpu_time"] * unit)
    return rows, peaks


def fmt(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


def table(rows, peaks, isa):
    shapes = []  # (k, n, m) in the order first seen
    for kind, _, _, m, k, n in rows:
        if (k, n, m) not in shapes:
            shapes.append((k, n, m))
    threads = sorted({t for (_, _, t, _, _, _) in rows})
    have_openblas = any(key[0] == "openblas" for key in rows)
    have_onednn = any(key[0] == "onednn" for key in rows)

    lines = []
    peak = peaks.get(isa)
    lines.append("FMA peak, one thread: " + ", ".join(f"{i} {p:.1f} GFLOP/s" for i, p in peaks.items()))
    lines.append("")
    head = ["M", "K x N", "threads", f"qkv {isa}", "qkv unpacked"]
    if have_onednn:
        head += ["oneDNN", "qkv / oneDNN", "same, CPU time (t1)"]
    if have_openblas:
        head += ["OpenBLAS"]
    head += ["qkv % peak", "same, CPU time (t1)", "qkv GB/s", "oneDNN GB/s" if have_onednn else None]
    head = [h for h in head if h]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for k, n, m in shapes:
        for t in threads:
            q, q_bw, q_cpu = rows.get(("qkv", isa, t, m, k, n), (None, None, None))
            if q is None:
                continue
            unpacked = rows.get(("qkv_unpacked", isa, t, m, k, n), (None,))[0]
            d, d_bw, d_cpu = rows.get(("onednn", "", t, m, k, n), (None, None, None))
            o = rows.get(("openblas", "", t, m, k, n), (None,))[0]
            cells = [str(m), f"{k}x{n}", str(t), fmt(q), fmt(unpacked)]
            if have_onednn:
                cpu_ratio = d_cpu / q_cpu if t == 1 and d_cpu and q_cpu else None
                cells += [fmt(d), fmt(q / d if d else None, 2), fmt(cpu_ratio, 2) if t == 1 else ""]
            if have_openblas:
                cells += [fmt(o)]
            cells += [fmt(100 * q / (peak * t) if peak else None, 0) + ("%" if peak else "")]
            cpu_peak = 100 * 2e-9 * m * k * n / q_cpu / peak if t == 1 and peak and q_cpu else None
            cells += [fmt(cpu_peak, 0) + "%" if cpu_peak is not None else ""]
            cells += [fmt(q_bw) if m == 1 else "", (fmt(d_bw) if m == 1 else "") if have_onednn else None]
            lines.append("| " + " | ".join(c for c in cells if c is not None) + " |")
    return "\n".join(lines)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_binary = os.path.join(os.path.dirname(here), "build", "bench", "qkv_bench_ops_linear")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", nargs="?", default=default_binary)
    parser.add_argument("--min-time", default="0.2", help="--benchmark_min_time, seconds (default 0.2)")
    parser.add_argument("--isa", default=None, help="qkv ISA of the table (default: avx512 if run, else avx2)")
    parser.add_argument("--filter", default=None, help="--benchmark_filter (keep fma_peak in it for %% peak)")
    parser.add_argument("--save", default=None, help="write the program's JSON report here")
    parser.add_argument("--from-json", default=None, help="read a saved JSON report instead of running")
    args = parser.parse_args()

    if args.from_json:
        with open(args.from_json) as f:
            report = json.load(f)
    else:
        report = run(args.binary, args.min_time, args.filter)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(report, f, indent=1)
    rows, peaks = parse(report)
    isas = {isa for (kind, isa, *_rest) in rows if kind == "qkv"}
    isa = args.isa or ("avx512" if "avx512" in isas else "avx2" if "avx2" in isas else "generic")
    print(table(rows, peaks, isa))


if __name__ == "__main__":
    main()
