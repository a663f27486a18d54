#!/usr/bin/env python3
"""Ratio tables from the criterion results of `cargo bench -p wsmachine-bench`.

    python3 bench/ratios.py [--baseline NAME] [--compare OLD] [--markdown]

Every ratio is between two measurements of the same run (same group, same
bytes): speed relative to `memcpy` of the input, and relative to the fastest
peer. `--compare OLD` adds wsmachine's speed now relative to a saved
criterion baseline (`cargo bench ... -- --save-baseline OLD`). Then the
cost of 64-byte reads relative to 64 KiB reads of the same frames, with
the floor any per-piece cost has: `memcpy in 64 B pieces` against
`memcpy`. Results are read from $CRITERION_HOME if set, else
target/criterion.
"""
import json
import os
import sys

ROOT = os.environ.get("CRITERION_HOME") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")
PEERS = ["tungstenite", "tokio-websockets", "fastwebsockets"]
OURS = ["wsmachine feed", "wsmachine read_buf", "wsmachine"]


def load(baseline):
    groups = {}
    for gdir in sorted(os.listdir(ROOT)):
        gpath = os.path.join(ROOT, gdir)
        if not os.path.isdir(gpath):
            continue
        for fdir in os.listdir(gpath):
            est = os.path.join(gpath, fdir, baseline, "estimates.json")
            meta = os.path.join(gpath, fdir, baseline, "benchmark.json")
            if not os.path.exists(est):
                continue
            with open(meta) as f:
                m = json.load(f)
            with open(est) as f:
                e = json.load(f)
            g = groups.setdefault(m["group_id"], {"bytes": None, "times": {}})
            tp = m.get("throughput") or {}
            g["bytes"] = tp.get("Bytes", g["bytes"])
            g["times"][m["function_id"]] = e["mean"]["point_estimate"]
    return groups


def pieces(groups, md, sep):
    """Time of 64-byte reads ÷ time of 64 KiB reads, same frames, per library."""
    suffix = " in 64 B reads"
    rows = []
    for name, g in groups.items():
        if not name.endswith(suffix) or name[: -len(suffix)] not in groups:
            continue
        small, big = g["times"], groups[name[: -len(suffix)]]["times"]
        row = [name[len("decode "):] if name.startswith("decode ") else name]
        floor = small.get("memcpy in 64 B pieces")
        row.append(f"{floor / big['memcpy']:.1f}" if floor and big.get("memcpy") else "")
        for lib in OURS[:2] + PEERS:
            ok = lib in small and lib in big
            row.append(f"{small[lib] / big[lib]:.1f}" if ok else "")
        rows.append(row)
    if not rows:
        return
    head = ["64 B reads ÷ 64 KiB reads", "memcpy in 64 B pieces ÷ memcpy"] + OURS[:2] + PEERS
    print(f"\n{'### ' if md else ''}cost of 64-byte reads (× the same frames in 64 KiB reads)\n")
    if md:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |" if md else sep.join(f"{c:>22}" for c in r))


def main():
    args = sys.argv[1:]
    baseline = "new"
    compare = None
    md = "--markdown" in args
    if "--baseline" in args:
        baseline = args[args.index("--baseline") + 1]
    if "--compare" in args:
        compare = load(args[args.index("--compare") + 1])
    groups = load(baseline)
    sep = " | " if md else "  "
    for name, g in groups.items():
        if name.startswith("deflate"):
            continue
        t = g["times"]
        base = t.get("memcpy")
        peers = [t[p] for p in PEERS if p in t]
        best = min(peers) if peers else None
        head = ["library", "GB/s", "× memcpy", "× best peer"]
        if compare:
            head.append("× before")
        print(f"\n{'### ' if md else ''}{name}\n")
        if md:
            print("| " + " | ".join(head) + " |")
            print("|" + "---|" * len(head))
        else:
            print(sep.join(f"{h:>22}" for h in head))
        for lib, ns in sorted(t.items(), key=lambda kv: kv[1]):
            gbs = g["bytes"] / ns if g["bytes"] else float("nan")
            row = [lib, f"{gbs:.2f}",
                   f"{base / ns:.2f}" if base else "",
                   f"{best / ns:.2f}" if best else ""]
            if compare:
                old = compare.get(name, {}).get("times", {}).get(lib)
                row.append(f"{old / ns:.2f}" if old and (lib in OURS) else "")
            if md:
                print("| " + " | ".join(row) + " |")
            else:
                print(sep.join(f"{c:>22}" for c in row))
    pieces(groups, md, sep)
    lat = os.path.join(ROOT, "latency.tsv")
    if os.path.exists(lat):  # written by the last full or round-trip run
        print(f"\n{'### ' if md else ''}round trip 512 B latency (ns)\n")
        with open(lat) as f:
            rows = [l.rstrip("\n").split("\t") for l in f][1:]
        for r in rows:
            print(sep.join(r) if not md else "| " + " | ".join(r) + " |")


main()
