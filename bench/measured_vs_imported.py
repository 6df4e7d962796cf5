#!/usr/bin/env python3
"""Our own measurements on a GPU (a `foresight-calibrate run` raw file) against the imported
measured database for the same GPU (NVIDIA AIConfigurator's tables as shipped profiles), per op
family, and against the published numbers in tests/data/validation.

    PYTHONPATH=build/python python bench/measured_vs_imported.py \
        [--raw hwmodels/profiles/measured/h200-sxm-141gb-2026-11-30/raw.json.gz] [--gpu h200-sxm-141gb]

For each family it prints the number of shapes both sides cover and the median of
imported/measured - 1 (signed: + means the imported table is slower than our run) and of its
absolute value. Imported values that the profile flags as outside its measured grid are left out.
"""
import argparse
import csv
import gzip
import json
import os
import statistics

import pandas as pd

import foresight.cost as fc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = ["trtllm", "vllm", "sglang"]


def load(path):
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        return json.load(f)


def summary(ratios):
    if not ratios:
        return "  n/a"
    errs = [r - 1 for r in ratios]
    return f"{len(ratios):4d} shapes  median {statistics.median(errs) * 100:+6.1f} %  |median| {statistics.median([abs(e) for e in errs]) * 100:5.1f} %"


def compare(kind, rows, measured, query, gpu):
    print(f"\n{kind}: imported table / our measurement")
    for fam in FAMILIES:
        try:
            out = query(pd.DataFrame(rows), gpu=gpu, calibration=fam)
        except Exception as e:  # a family without this table for the GPU
            print(f"  {fam:7s} not available ({str(e)[:80]})")
            continue
        ratios = [s / t for s, t, x in zip(out["seconds"], measured, out["extrapolated"]) if not x]
        print(f"  {fam:7s} {summary(ratios)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", default=os.path.join(ROOT, "hwmodels/profiles/measured/h200-sxm-141gb-2026-11-30/raw.json.gz"))
    ap.add_argument("--gpu", default="h200-sxm-141gb")
    a = ap.parse_args()
    doc = load(a.raw)
    p = doc["provenance"]
    print(f"{p['gpu_name']}: driver {p['driver']}, CUDA {p['cuda_runtime']}, cuBLASLt {p['cublaslt']}, "
          f"cuDNN {p['cudnn']}, NCCL {p['nccl']}; clocks {p.get('clocks')}")
    ms = doc["measurements"]

    for dt, name in [("bf16", "bf16"), ("fp8_e4m3", "fp8")]:
        g = [m for m in ms if m["op"] == "gemm" and m["dtype"] == dt and m["shape"]["layout"] == "NT"
             and m["shape"]["batch"] == 1]
        rows = [{"m": m["shape"]["m"], "n": m["shape"]["n"], "k": m["shape"]["k"], "dtype": name} for m in g]
        compare(f"GEMM {name} (cuBLASLt NT)", rows, [m["time_s"] for m in g], fc.gemm, a.gpu)

    att = [m for m in ms if m["op"] == "attention" and m["backend"] == "cudnn-sdpa" and m["dtype"] == "bf16"]
    for causal in (True, False):
        sel = [m for m in att if m["shape"]["causal"] == causal]
        rows = [{"batch": m["shape"]["batch"], "seq_q": m["shape"]["seq_q"], "heads": m["shape"]["heads"],
                 "kv_heads": m["shape"]["kv_heads"], "head_dim": m["shape"]["head_dim"], "causal": causal,
                 "dtype": "bf16"} for m in sel]
        compare(f"context attention bf16 ({'causal' if causal else 'non-causal'}, cuDNN SDPA)", rows,
                [m["time_s"] for m in sel], fc.attention, a.gpu)

    dec = [m for m in ms if m["op"] == "decode_attention"]
    rows = [{"batch": m["shape"]["batch"], "context": m["shape"]["context_len"], "heads": m["shape"]["heads"],
             "kv_heads": m["shape"]["kv_heads"], "head_dim": m["shape"]["head_dim"], "dtype": "bf16"} for m in dec]
    compare("decode attention bf16 (our SIMT paged kernel, not a framework's)", rows, [m["time_s"] for m in dec],
            fc.decode_attention, a.gpu)

    print("\nPublished measurements (tests/data/validation):")
    with open(os.path.join(ROOT, "tests/data/validation/gemm_h100.csv")) as f:
        pub = [r for r in csv.DictReader(row for row in f if not row.startswith("#"))]
    for r in pub:
        dt = r["dtype"]
        hit = [m for m in ms if m["op"] == "gemm" and m["dtype"] == dt and m["shape"]["m"] == int(r["m"])
               and m["shape"]["n"] == int(r["n"]) and m["shape"]["k"] == int(r["k"])
               and m["source"].startswith("validation")]
        ours = f"{hit[0]['flops'] / hit[0]['time_s'] / 1e12:7.1f}" if hit else "  (none: cuBLASLt has no algorithm)"
        print(f"  GEMM {dt:8s} {r['m']}x{r['n']}x{r['k']}: H100 published {float(r['tflops']):7.1f}, ours on this GPU {ours} TFLOP/s")
    for m in ms:
        if m["op"] == "attention" and m["source"].startswith("validation"):
            print(f"  attention {m['backend']} {m['direction']} fp16 b4 s8448 h16 d128: "
                  f"{m['flops'] / m['time_s'] / 1e12:6.1f} TFLOP/s (FlashAttention-3 forward on H100: 661)")
    big = [m for m in ms if m["op"] == "copy" and m["shape"]["elements"] == 1 << 30 and m.get("cache") == "cold"]
    for m in big:
        print(f"  copy {m['backend']} 2 GiB: {m['bytes'] / m['time_s'] / 1e12:.2f} TB/s (read + write)")
    with open(os.path.join(ROOT, "tests/data/validation/hbm_bandwidth.csv")) as f:
        for r in csv.DictReader(row for row in f if not row.startswith("#")):
            if r["gpu"] == a.gpu:
                print(f"  published {a.gpu}: copy {r['copy_TBps']} TB/s, datasheet {r['spec_TBps']} TB/s")


if __name__ == "__main__":
    main()
