#!/usr/bin/env python3
"""Capacity-planner throughput (issue goal: a plan over >= 200 candidate configurations for one
model and SLO in <= 60 s on two cores): Llama-3.1-70B behind vLLM at 40 req/s, p99 TTFT <= 500 ms
and TPOT <= 40 ms, on H100 and H200 systems, colocated and xPyD, TP 1-8 per phase, up to 64 GPUs.
Prints candidates, simulations, wall time per stage, candidates/s and the ratio to the goal.

    PYTHONPATH=build/python python bench/plan_bench.py [--executor process|serial|dask] [--max-gpus 64]
"""
import argparse
import os
import time

import foresight as fs

GOAL_S = 60.0  # issue #9: >= 200 candidates in <= 60 s on this 2-core machine


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--executor", default="process", choices=["serial", "process", "dask"])
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--max-gpus", type=int, default=64)
    a = p.parse_args()
    t0 = time.perf_counter()
    frame = fs.plan(fs.scenarios.path("serving-llama31-70b-h100-vllm"), rate=40, slo="ttft=500ms,tpot=40ms",
                    gpus=["h100-sxm-80gb", "h200-sxm-141gb"], prices={"h100-sxm-80gb": 2.5, "h200-sxm-141gb": 3.5},
                    max_gpus=a.max_gpus, executor=a.executor, workers=a.workers, progress=False)
    wall = time.perf_counter() - t0
    at = frame.attrs
    print(f"{at['candidates']} candidates ({at['pruned']} pruned by their unit run, {at['below_target_or_over_budget']} "
          f"below target by the estimate), {at['configurations_simulated']} deployments simulated whole; "
          f"{at['simulations']} simulations")
    print(f"wall {wall:.1f} s (unit rates {at['unit_rates_s']:.1f} s, verification {at['verification_s']:.1f} s) with "
          f"executor={a.executor} ({a.workers or os.cpu_count()} workers): {at['candidates'] / wall:.0f} candidates/s, "
          f"{at['simulations'] / wall:.2f} simulations/s; {wall / GOAL_S:.2f} of the {GOAL_S:.0f} s goal")
    best = frame[frame.chosen].head(3)
    for r in best.itertuples():
        layout = (f"{r.replicas} x TP{r.tp}" if r.mode == "colocated" else
                  f"{r.prefill_replicas}P TP{r.prefill_tp} + {r.decode_replicas}D TP{r.decode_tp}")
        print(f"  {r.gpu:15s} {layout:22s} {r.gpus:3d} GPUs ${r.usd_per_hour:6.2f}/h  TTFT p99 {r.ttft_ms:6.1f} ms  "
              f"TPOT p99 {r.tpot_ms:5.2f} ms  ${r.usd_per_mtok:.3f}/Mtok")


if __name__ == "__main__":
    main()
