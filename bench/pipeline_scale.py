"""Wall time and peak memory of the whole train-tip-scorer pipeline on ~1M simulated events (kfp.local).

Every component runs as its own subprocess, as it would in a pod. A sampler thread reads the RSS of
every descendant process five times a second: peak memory is the largest component (what a pod needs)
and the largest sum over the tree. (``RUSAGE_CHILDREN`` would not do: a forked child inherits the
parent's high-water mark.) The baseline, measured in the same run, is one DuckDB scan of the same event
log: the floor any batch job over it pays.

    .venv/bin/python bench/pipeline_scale.py [--users 6600] [--days 30] [--seed 5] [--no-effects]

It also prints the held-out comparison (challenger, logistic regression, popularity, oracle) with the
paired 95 % intervals of the differences, so ``--users 5000`` reproduces the model-quality figures.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil

from contracts.runtime import apply_offline_switches


class RssSampler(threading.Thread):
    """Peak RSS of this process's descendants: the largest single process and the largest total."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_single = self.peak_total = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        me = psutil.Process()
        while not self._stop_event.wait(0.2):
            total = 0
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
            self.peak_total = max(self.peak_total, total)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=6600, help="6,600 users x 30 days is about 1M events")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--no-effects", action="store_true", help="the simulator's fatigue, repeat, task-state and segment effects off"
    )
    args = parser.parse_args()
    apply_offline_switches()

    from pipelines.local import run_local
    from pipelines.settings import PipelineSettings
    from pipelines.steps.events import load_events
    from tipsml.simulate import ModelParams, simulate
    from tipsml.simulate.writer import write_run

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        params = ModelParams().without_new_effects() if args.no_effects else ModelParams()
        paths = write_run(simulate(users=args.users, days=args.days, seed=args.seed, params=params), root / "sim")
        t0 = time.perf_counter()
        n_events = len(load_events(paths["events"]))
        scan = time.perf_counter() - t0

        settings = PipelineSettings(
            state_dir=root / "state", event_log=str(paths["events"]), truth_path=str(paths["truth"])
        )
        started: dict[str, float] = {}
        took: dict[str, float] = {}

        def on_task(task: str, status: str) -> None:
            if status == "RUNNING":
                started[task] = time.perf_counter()
            else:
                took[task] = time.perf_counter() - started.get(task, time.perf_counter())

        sampler = RssSampler()
        sampler.start()
        t0 = time.perf_counter()
        run = run_local(settings, root / "runs", on_task)
        wall = time.perf_counter() - t0
        sampler.stop()
        report = run.report()

    effects = "off" if args.no_effects else "on"
    print(f"events: {n_events:,} ({args.users:,} users x {args.days} days, seed {args.seed}, new effects {effects})")
    print(f"pipeline wall time: {wall:.1f} s (target < 300 s)")
    for task, seconds in took.items():
        print(f"  {task:<16} {seconds:7.1f} s")
    print(f"baseline, one DuckDB scan of the log: {scan:.1f} s; pipeline / scan = {wall / scan:.1f}x")
    mib = 1024 * 1024
    print(f"peak RSS: largest component {sampler.peak_single / mib:,.0f} MiB; "
          f"all components at once {sampler.peak_total / mib:,.0f} MiB")
    print(f"held-out metrics on {report['n_test']:,} test rows (NDCG@5 within each {report['ndcg_group']}):")
    rows = dict(report["models"])
    if report["oracle"].get("available"):
        rows["oracle"] = report["oracle"]["oracle"]
    for name, m in rows.items():
        print(f"  {name:<20} AUC {m['auc']:.4f}  NDCG@5 {m['ndcg_at_5']:.4f}")
    for name, c in report["versus"].items():
        cells = "; ".join(f"{k} {v['delta']:+.4f} [{v['ci95_low']:+.4f}, {v['ci95_high']:+.4f}]" for k, v in c.items())
        print(f"  challenger - {name}: {cells}")
    gap = report["oracle"].get("gap") or {}
    if gap:
        print(f"  oracle - challenger: auc {gap['auc']:+.4f}; ndcg_at_5 {gap['ndcg_at_5']:+.4f}")


if __name__ == "__main__":
    main()
