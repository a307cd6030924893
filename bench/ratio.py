#!/usr/bin/env python3
"""Summaries and ratios of benchmark samples, with bootstrap confidence intervals.

Reads samples, one per line, "SERIES VALUE" (higher is better, e.g. MiB/s),
from a file, and prints for each pair A/B given on the command line:

    A  min / median / max   B  min / median / max   median(A)/median(B) [lo, hi]

where [lo, hi] is the 95 % percentile bootstrap interval of the ratio of
medians: both series are resampled with replacement, independently, 10,000
times with a fixed seed (so a rerun on the same samples prints the same
interval). Ratios of medians rather than of means: single transfers on a
shared machine have long tails that the median ignores and the mean does not.

    bench/ratio.py SAMPLES A/B [C/D ...] [--goal 0.95] [--label TEXT]
"""

import argparse
import random
import statistics
import sys


def median_ratio_ci(a, b, n=10_000, seed=16):
    rng = random.Random(seed)
    rs = []
    for _ in range(n):
        ma = statistics.median(rng.choices(a, k=len(a)))
        mb = statistics.median(rng.choices(b, k=len(b)))
        rs.append(ma / mb)
    rs.sort()
    return rs[int(0.025 * n)], rs[int(0.975 * n) - 1]


def fmt(xs):
    return f"{min(xs):7.0f} / {statistics.median(xs):7.0f} / {max(xs):7.0f}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("samples")
    p.add_argument("pairs", nargs="+", help="A/B: series A against baseline B")
    p.add_argument("--goal", type=float)
    p.add_argument("--label", default="")
    args = p.parse_args()
    series = {}
    with open(args.samples) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                series.setdefault(parts[0], []).append(float(parts[1]))
    for pair in args.pairs:
        a, b = pair.split("/")
        if not series.get(a) or not series.get(b):
            print(f"{pair}: no samples", file=sys.stderr)
            continue
        xa, xb = series[a], series[b]
        r = statistics.median(xa) / statistics.median(xb)
        lo, hi = median_ratio_ci(xa, xb)
        verdict = ""
        if args.goal is not None:
            # The goal is met when the whole interval clears it, missed when
            # the whole interval is below it, and undecided otherwise.
            verdict = " met" if lo >= args.goal else (" MISSED" if hi < args.goal else " undecided")
            verdict = f"  goal >= {args.goal}:{verdict}"
        print(f"{args.label}{a:<14} {fmt(xa)}   {b:<14} {fmt(xb)}   "
              f"ratio {r:.3f} [{lo:.3f}, {hi:.3f}] (n={len(xa)}/{len(xb)}){verdict}")


if __name__ == "__main__":
    main()
