#!/usr/bin/env python3
"""Plan-search throughput: every tp x pp x micro_batch x zero plan of Llama-3-70B on 64-512 H100s
(dp derived), pruned and simulated in analytical fidelity; prints plans per second per executor.

    PYTHONPATH=build/python python bench/search_bench.py [--executor process|serial|dask]
"""
import argparse
import os
import time

import foresight as fs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--executor", default="process", choices=["serial", "process", "dask"])
    p.add_argument("--workers", type=int, default=None)
    a = p.parse_args()
    space = {"tp": [1, 2, 4, 8], "pp": "auto", "micro_batch": [1, 2, 4], "zero": [0, 1, 2, 3]}
    t0 = time.perf_counter()
    frame = fs.search.training(fs.scenarios.path("llama3-70b-h100"), gpus=[64, 128, 256, 512], space=space,
                               executor=a.executor, workers=a.workers, progress=False)
    wall = time.perf_counter() - t0
    simulated = frame["overrides"].notna().sum() if "overrides" in frame else 0
    print(f"{len(frame)} plans enumerated, {simulated} simulated, {frame['feasible'].sum()} feasible; "
          f"{wall:.1f} s with executor={a.executor} ({a.workers or os.cpu_count()} workers): "
          f"{simulated / wall:.1f} simulated plans/s")
    top = frame[frame.feasible].head(5)
    print(top[["gpus", "tp", "pp", "dp", "micro_batch", "zero", "tokens_per_s", "mfu", "memory_peak_gib",
               "bottleneck"]].to_string(index=False))


if __name__ == "__main__":
    main()
