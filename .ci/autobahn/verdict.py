#!/usr/bin/env python3
"""Strict verdict on an Autobahn|Testsuite report.

    verdict.py REPORT_DIR [--agent NAME]

A case passes when both its behavior and its close behavior are OK or
INFORMATIONAL. NON-STRICT, UNIMPLEMENTED, FAILED and anything else fail.
Prints the outcome counts and every case that did not pass; exits 1 if any
case failed or if no case ran.
"""
import collections
import json
import os
import sys

PASS = {"OK", "INFORMATIONAL"}


def case_key(case_id):
    return [int(part) for part in case_id.split(".")]


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    path = argv[1]
    if os.path.isdir(path):
        path = os.path.join(path, "index.json")
    agent = argv[argv.index("--agent") + 1] if "--agent" in argv else None
    with open(path) as f:
        index = json.load(f)
    total = failed = 0
    for name in sorted(index):
        if agent and name != agent:
            continue
        cases = index[name]
        outcomes = collections.Counter()
        bad = []
        for case_id, result in cases.items():
            outcome = (result["behavior"], result["behaviorClose"])
            outcomes[outcome] += 1
            if not set(outcome) <= PASS:
                bad.append(case_id)
        total += len(cases)
        failed += len(bad)
        print("%s: %d cases" % (name, len(cases)))
        for (behavior, close), n in sorted(outcomes.items()):
            print("  %-14s %-14s %5d" % (behavior, close, n))
        for case_id in sorted(bad, key=case_key):
            r = cases[case_id]
            print("  not passed: %-9s %s / %s" % (case_id, r["behavior"], r["behaviorClose"]))
    if total == 0:
        print("verdict: no case ran")
        return 1
    print("verdict: %d passed, %d failed" % (total - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
