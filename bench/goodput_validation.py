#!/usr/bin/env python3
"""Foresight's goodput model with the catalog's default failure rates (derived from Llama 3's Table 5)
against other published large-run reliability figures (tests/data/validation/large_run_reliability.csv).
The Llama 3 rows are a consistency check (the rates come from that run); the others test whether one
set of per-unit rates carries over to other clusters, GPU generations and years.

    PYTHONPATH=build/python python bench/goodput_validation.py [--runs 200]
"""
import argparse
import csv
import os

import foresight as fs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYSTEM = {"H100": "dgx-h100", "H800": "dgx-h100", "A100": "dgx-a100"}

TEMPLATE = """name: goodput-validation
seed: 1
fidelity: analytical
cluster: {{system: {system}, nodes: {nodes}}}
model: gpt3-125m
training: {{sequence_length: 2048, global_batch: {batch}, parallelism: {{tp: 1, pp: 1, dp: {gpus}}}, recompute: none}}
failures:
  horizon: {days}d
  runs: {runs}
  causes: {causes}
  detection: 10min
  restart: 5min
  spares: {{hot: 16}}
  checkpoint: {{interval: 30min, tier: tectonic}}
"""
GPU_CAUSES = "{faulty-gpu: {}, gpu-hbm3: {}, gpu-sram: {}, gpu-system-processor: {}, silent-data-corruption: {}, gpu-thermal: {}}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=200)
    a = p.parse_args()
    rows = list(csv.DictReader(l for l in open(os.path.join(ROOT, "tests/data/validation/large_run_reliability.csv"))
                               if not l.startswith("#")))
    print(f"{'run':<16} {'GPUs':>6} {'figure':<30} {'published':>10} {'predicted':>10}  5-95 %")
    for r in rows:
        gpus, days = int(r["gpus"]), float(r["days"])
        fig = r["figure"]
        causes = GPU_CAUSES if fig == "gpu_failures_per_week" else "default"
        # Only the unit counts matter here; DGX A100's HDR fabric does not reach 16,384 GPUs, so the
        # largest A100 row borrows the H100 system's (same 8 GPUs per node).
        system = SYSTEM[r["gpu_type"]] if gpus <= 4096 else "dgx-h100"
        text = TEMPLATE.format(system=system, nodes=gpus // 8, batch=gpus, gpus=gpus, days=days,
                               runs=a.runs, causes=causes)
        g = fs.run_text(text)["goodput"]
        n, e = g["interruptions"], g["ettr"]
        if fig in ("unexpected_interruptions", "restarts_min", "gpu_failures_per_week"):
            scale = 7 / days if fig == "gpu_failures_per_week" else 1
            pred, band = n["mean"] * scale, f"{n['p5'] * scale:.1f}-{n['p95'] * scale:.1f}"
        elif fig in ("effective_training_time_min", "ettr_min"):
            pred, band = e["mean"], f"{e['p5']:.3f}-{e['p95']:.3f}"
        else:  # job MTTF
            pred, band = g["job_mtbf_h"], "(analytical)"
        print(f"{r['run']:<16} {gpus:>6} {fig:<30} {float(r['value']):>10.3g} {pred:>10.3g}  {band}")


if __name__ == "__main__":
    main()
