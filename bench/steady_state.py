#!/usr/bin/env python3
"""The steady state of a pipeline_bench run: what it settles once extraction
is over and only pinning and tracking are left to bound it.

Reads OUT/queue_depth.csv and OUT/cpu.csv (written by pipeline_bench.sh) and
prints, for the stretch from the moment the extract and read_uri queues are
empty (every token seen) to the last token settled, and for each window of
WINDOW seconds inside it: tokens settled a second, and CPU ms a token of each
process group and of all of them ("total": the bench's own queries left out).

Usage: bench/steady_state.py OUT [--window=60]
"""

import csv
import sys


def read(path):
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def at(rows, t):
    """The last row at or before second t."""
    best = rows[0]
    for row in rows:
        if row["seconds"] > t:
            break
        best = row
    return best


def stretch(queues, cpu, groups, begin, end):
    q0, q1 = at(queues, begin), at(queues, end)
    c0, c1 = at(cpu, begin), at(cpu, end)
    settled = q1["tokens_settled"] - q0["tokens_settled"]
    seconds = q1["seconds"] - q0["seconds"]
    if settled <= 0 or seconds <= 0:
        return None
    per_token = {g: 1000 * (c1[g] - c0[g]) / settled for g in groups}
    per_token["total"] = sum(per_token.values())
    return q0["seconds"], q1["seconds"], settled / seconds, per_token


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    window = 60.0
    for a in sys.argv[1:]:
        if a.startswith("--window="):
            window = float(a.split("=", 1)[1])
    if len(args) != 1:
        sys.exit(__doc__)
    out = args[0]
    queues = read(f"{out}/queue_depth.csv")
    cpu = read(f"{out}/cpu.csv")
    groups = [g for g in cpu[0] if g not in ("seconds", "bench-queries")]
    total = max(r["tokens_seen"] for r in queues)
    begin = next(
        (r["seconds"] for r in queues
         if r["tokens_seen"] >= total and r["extract"] == 0
         and r["read_uri"] == 0),
        None)
    last = max(r["tokens_settled"] for r in queues)
    end = next(r["seconds"] for r in queues if r["tokens_settled"] >= last)
    if begin is None or end <= begin:
        sys.exit("no steady stretch: the extract queue never emptied before "
                 "the end")
    print(f"{out}: extract queue empty at {begin:.0f} s, last token settled "
          f"at {end:.0f} s")
    header = ["from s", "to s", "tokens/s"] + [f"{g} ms/tok" for g in groups]
    header.append("total ms/tok")
    print(" | ".join(header))
    spans = []
    t = begin
    while t + window <= end:
        spans.append((t, t + window))
        t += window
    spans.append((begin, end))
    for a, b in spans:
        s = stretch(queues, cpu, groups, a, b)
        if s is None:
            continue
        a, b, rate, per_token = s
        cells = [f"{a:.0f}", f"{b:.0f}", f"{rate:.1f}"]
        cells += [f"{per_token[g]:.2f}" for g in groups + ["total"]]
        print(" | ".join(cells))


if __name__ == "__main__":
    main()
