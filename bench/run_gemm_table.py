#!/usr/bin/env python3
"""Runs qkv_bench_ops_linear (bench/ops/linear_bench.cpp) and prints a markdown table of qkv's
packed GEMM against oneDNN (and OpenBLAS when the program has it) at GPT-2-small / BERT-base shapes.

    python3 bench/run_gemm_table.py [BINARY] [--min-time 0.2] [--rounds 3] [--isa avx512]
                                    [--filter REGEX] [--save RAW.json] [--from-json RAW.json]

BINARY defaults to build/bench/qkv_bench_ops_linear. Each shape runs --rounds times, qkv and the
peers back to back; cells are medians over the rounds, and qkv / oneDNN is the median of the
rounds' ratios (their range beside it). "% peak" is qkv's GFLOP/s over threads x the
fma_peak/<isa>/t1 row. GB/s (weights read per call) is given for
M = 1 only; it measures DRAM bandwidth only for N = 50257, whose 154 MB of weights exceed the
32 MB L3. GFLOP/s are wall-clock rates. On a shared machine absolute figures drift; ratios of
neighbouring runs hold better, and for one thread "same, CPU time" gives the qkv / oneDNN ratio
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


def run(binary, min_time, filter_regex, rounds):
    """Every shape's qkv rows and peer rows run back to back, in two processes, `rounds` times
    over, which goes first alternating: on a shared machine the load drifts within seconds, so a
    ratio is only meaningful between neighbouring runs (the table gives the median of the
    per-round ratios). Two processes because the peers' OpenMP/OpenBLAS threads keep spinning on
    both cores after their calls (for longer than the 100 ms the program waits), which halved some
    2-thread qkv rows that followed a oneDNN row in the same process."""
    listed = subprocess.run([binary, "--benchmark_list_tests"], check=True, stdout=subprocess.PIPE, text=True).stdout
    names = [n for n in listed.split() if not filter_regex or re.search(filter_regex, n)]
    peak_rows = [n for n in names if n.startswith("fma_peak/")]
    groups = {}  # "M:/K:/N:" -> ([qkv rows], [peer rows]), in the program's order
    for n in names:
        shape = SHAPE.search(n)
        if shape:
            qkv_rows, peer_rows = groups.setdefault(shape.group(0), ([], []))
            (qkv_rows if n.split("/")[0] in ("qkv", "qkv_unpacked") else peer_rows).append(n)
    regex = lambda chosen: "^(" + "|".join(re.escape(n) for n in chosen) + ")$"
    report = {"rounds": []}
    for r in range(rounds):
        benchmarks = run_one(binary, min_time, regex(peak_rows))["benchmarks"] if peak_rows else []
        for qkv_rows, peer_rows in groups.values():
            for chosen in (qkv_rows, peer_rows) if r % 2 == 0 else (peer_rows, qkv_rows):
                if chosen:
                    benchmarks += run_one(binary, min_time, regex(chosen))["benchmarks"]
        report["rounds"].append({"benchmarks": benchmarks})
    return report


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


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


def table(rounds, isa):
    """rounds: [(rows, peaks)] as parse() gives them, one per round. Each cell is the median over
    the rounds; a ratio is the median of the rounds' ratios, with their range beside it."""
    def values(key, field):
        return [rows[key][field] for rows, _ in rounds if key in rows]

    def cell(key, field):
        return median(values(key, field))

    def ratios(top, bottom, field, invert=False):
        pairs = [(rows.get(top), rows.get(bottom)) for rows, _ in rounds]
        out = [(b[field] / a[field] if invert else a[field] / b[field]) for a, b in pairs
               if a and b and a[field] and b[field]]
        return median(out), (min(out), max(out)) if out else None

    keys = [key for rows, _ in rounds for key in rows]
    shapes = []  # (k, n, m) in the order first seen
    for kind, _, _, m, k, n in keys:
        if (k, n, m) not in shapes:
            shapes.append((k, n, m))
    threads = sorted({t for (_, _, t, _, _, _) in keys})
    have_openblas = any(key[0] == "openblas" for key in keys)
    have_onednn = any(key[0] == "onednn" for key in keys)
    peaks = {i: median([p[i] for _, p in rounds if i in p]) for i in sorted({i for _, p in rounds for i in p})}

    lines = []
    peak = peaks.get(isa)
    lines.append("FMA peak, one thread: " + ", ".join(f"{i} {p:.1f} GFLOP/s" for i, p in peaks.items()) +
                 f" (medians of {len(rounds)} rounds)")
    lines.append("")
    head = ["M", "K x N", "threads", f"qkv {isa}", "qkv unpacked"]
    if have_onednn:
        head += ["oneDNN", "qkv / oneDNN", "rounds' range", "same, CPU time (t1)"]
    if have_openblas:
        head += ["OpenBLAS"]
    head += ["qkv % peak", "same, CPU time (t1)", "qkv GB/s", "oneDNN GB/s" if have_onednn else None]
    head = [h for h in head if h]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for k, n, m in shapes:
        for t in threads:
            qkv_key = ("qkv", isa, t, m, k, n)
            q = cell(qkv_key, 0)
            if q is None:
                continue
            onednn_key = ("onednn", "", t, m, k, n)
            d = cell(onednn_key, 0)
            cells = [str(m), f"{k}x{n}", str(t), fmt(q), fmt(cell(("qkv_unpacked", isa, t, m, k, n), 0))]
            if have_onednn:
                ratio, spread = ratios(qkv_key, onednn_key, 0)
                cpu_ratio, _ = ratios(qkv_key, onednn_key, 2, invert=True) if t == 1 else (None, None)
                cells += [fmt(d), fmt(ratio, 2), f"{spread[0]:.2f}-{spread[1]:.2f}" if spread else "–",
                          fmt(cpu_ratio, 2) if t == 1 else ""]
            if have_openblas:
                cells += [fmt(cell(("openblas", "", t, m, k, n), 0))]
            cells += [fmt(100 * q / (peak * t) if peak else None, 0) + ("%" if peak else "")]
            q_cpu = cell(qkv_key, 2)
            cpu_peak = 100 * 2e-9 * m * k * n / q_cpu / peak if t == 1 and peak and q_cpu else None
            cells += [fmt(cpu_peak, 0) + "%" if cpu_peak is not None else ""]
            cells += [fmt(cell(qkv_key, 1)) if m == 1 else "",
                      (fmt(cell(onednn_key, 1)) if m == 1 else "") if have_onednn else None]
            lines.append("| " + " | ".join(c for c in cells if c is not None) + " |")
    return "\n".join(lines)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_binary = os.path.join(os.path.dirname(here), "build", "bench", "qkv_bench_ops_linear")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", nargs="?", default=default_binary)
    parser.add_argument("--min-time", default="0.2", help="--benchmark_min_time, seconds (default 0.2)")
    parser.add_argument("--rounds", type=int, default=3, help="times every shape runs, qkv and peers alternating")
    parser.add_argument("--isa", default=None, help="qkv ISA of the table (default: avx512 if run, else avx2)")
    parser.add_argument("--filter", default=None, help="--benchmark_filter (keep fma_peak in it for %% peak)")
    parser.add_argument("--save", default=None, help="write the program's JSON report here")
    parser.add_argument("--from-json", default=None, help="read a saved JSON report instead of running")
    args = parser.parse_args()

    if args.from_json:
        with open(args.from_json) as f:
            report = json.load(f)
    else:
        report = run(args.binary, args.min_time, args.filter, args.rounds)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(report, f, indent=1)
    rounds = [parse(r) for r in report.get("rounds", [report])]  # a report saved before rounds: one
    isas = {isa for rows, _ in rounds for (kind, isa, *_rest) in rows if kind == "qkv"}
    isa = args.isa or ("avx512" if "avx512" in isas else "avx2" if "avx2" in isas else "generic")
    print(table(rounds, isa))


if __name__ == "__main__":
    main()
