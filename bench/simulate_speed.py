"""Simulator speed: 5,000 users x 30 days, median of 3 runs, beside bare JSON serialization of as many dicts.

Prints the stages (draw, format to wire JSON, write files) and events/s. The baseline is the cheapest
honest way to produce the same number of JSON lines: ``json.dumps`` of prepared dicts of the same shape.

    .venv/bin/python bench/simulate_speed.py [--users 5000] [--days 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from contracts.runtime import apply_offline_switches


def main() -> None:
    apply_offline_switches()
    from tipsml.simulate import simulate
    from tipsml.simulate.writer import write_run

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    draw_s, format_s, write_s, total_s = [], [], [], []
    n_events = 0
    for run in range(args.runs):
        t0 = time.perf_counter()
        sim = simulate(users=args.users, days=args.days, seed=run)
        t1 = time.perf_counter()
        events = sim.events
        t2 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            write_run(sim, Path(tmp))
        t3 = time.perf_counter()
        draw_s.append(t1 - t0)
        format_s.append(t2 - t1)
        write_s.append(t3 - t2)
        total_s.append(t3 - t0)
        n_events = len(events)
        sample = [json.loads(line) for line in events.lines[:: max(1, len(events) // 1000)]]

    base_s = []
    dicts = (sample * (n_events // len(sample) + 1))[:n_events]
    for _ in range(args.runs):
        t0 = time.perf_counter()
        lines = [json.dumps(d, separators=(",", ":")) for d in dicts]
        base_s.append(time.perf_counter() - t0)
        del lines

    med = statistics.median
    print(f"simulate {args.users} users x {args.days} days, {args.runs} runs (median), {n_events:,} events")
    print(f"  draw (numpy)            {med(draw_s):7.2f} s")
    print(f"  format wire JSON        {med(format_s):7.2f} s")
    print(f"  write files             {med(write_s):7.2f} s")
    print(f"  total                   {med(total_s):7.2f} s   {n_events / med(total_s):,.0f} events/s")
    print(f"baseline json.dumps of {n_events:,} prepared dicts: {med(base_s):.2f} s   "
          f"{n_events / med(base_s):,.0f} events/s")
    print(f"ratio simulate-total / baseline: {med(total_s) / med(base_s):.2f}x; "
          f"simulate draw+format / baseline: {(med(draw_s) + med(format_s)) / med(base_s):.2f}x")


if __name__ == "__main__":
    main()
