#!/usr/bin/env python3
"""How close the datasheet roofline (tile and wave quantized) comes to measured GEMM kernels without a
profile: every measured BF16/FP8 GEMM cell of the shipped profiles (NVIDIA AIConfigurator's database)
is priced by `calibration: roofline` and the error is reported by shape class.

    PYTHONPATH=build/python python bench/roofline_vs_tables.py [--family trtllm] [--dtype bf16]

Shape classes (m rows, n columns, k reduction), as the roofline sees them:
  decode      m <= 64                        (a few tokens: weight-bandwidth bound)
  small-k     m > 64, k <= 512               (too little reduction work per tile to hide its latency)
  sub-wave    fewer 128x128 tiles than SMs   (the GPU is never full)
  multi-wave  the rest, by how full the last wave is: partial (< 50 %) or full
"""
import argparse
import gzip
import json
import math
import os

import foresight

GPUS = {"a100-sxm-80gb": 108, "h100-sxm-80gb": 132, "h200-sxm-141gb": 132, "b200": 148, "gb200": 148}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cells(path, dtype, stride):
    with gzip.open(path, "rt") as f:
        doc = json.load(f)
    (t,) = [t for t in doc["tables"] if t["op"] == "gemm" and t["dtype"] == dtype] or [None]
    if t is None:
        return []
    ms, ns, ks = t["values"]
    out = []
    i = 0
    for m in ms:
        for n in ns:
            for k in ks:
                v = t["latency_ms"][i]
                i += 1
                if v is not None and i % stride == 0:
                    out.append((int(m), int(n), int(k), v * 1e-3))
    return out


def shape_class(m, n, k, sms):
    if m <= 64:
        return "decode"
    if k <= 512:
        return "small-k"
    tiles = math.ceil(m / 128) * math.ceil(n / 128)
    if tiles < sms:
        return "sub-wave"
    last = tiles / sms - math.floor(tiles / sms)
    return "multi-wave partial" if 0 < last < 0.5 else "multi-wave full"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", default="trtllm")
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--stride", type=int, default=7, help="use every Nth measured cell (the grids are large)")
    a = p.parse_args()
    import pandas as pd

    rows = []
    for gpu, sms in GPUS.items():
        path = os.path.join(ROOT, "hwmodels", "profiles", f"{gpu}-{a.family}.json.gz")
        c = cells(path, a.dtype, a.stride)
        if not c:
            continue
        df = pd.DataFrame(c, columns=["m", "n", "k", "measured"])
        est = foresight.cost.gemm(df[["m", "n", "k"]].assign(dtype=a.dtype), gpu=gpu, calibration="roofline")
        df["roofline"] = est["seconds"].values
        df["gpu"] = gpu
        df["class"] = [shape_class(m, n, k, sms) for m, n, k in zip(df.m, df.n, df.k)]
        rows.append(df)
    df = pd.concat(rows)
    df["err"] = df["roofline"] / df["measured"] - 1
    print(f"roofline vs measured {a.dtype} GEMM ({a.family} kernels, every {a.stride}th cell): "
          "median |error| (median signed error) per shape class")
    table = df.groupby(["gpu", "class"])["err"].agg(
        cells="size", median_abs=lambda e: 100 * e.abs().median(), median_signed=lambda e: 100 * e.median())
    print(table.round(1).to_string())
    print(f"all cells: median |error| {100 * df['err'].abs().median():.1f} % over {len(df)} cells")


if __name__ == "__main__":
    main()
