#!/usr/bin/env python3
"""Replays NVIDIA's measured serving points (silicon_sample.csv in the PyPI wheel aiconfigurator-core,
Apache-2.0) that Foresight can express: aggregated mode, closed-loop concurrency, dense models and the
mixture-of-experts rows whose experts split over the replica's tensor-parallel GPUs
(moe_tp x moe_ep = tp_size; rows with data-parallel attention are left out).
Prints per-row TTFT and TPOT errors and their median / p90 / worst per system, framework and model,
next to AIConfigurator's own estimate on the same rows (--aic), with each tool's wall time.

    PYTHONPATH=build/python python bench/serving_silicon.py [--aic] [--limit N] [--out rows.csv]

Needs `pip install aiconfigurator-core` (and `aiconfigurator` for --aic; see bench/requirements.txt).
Assumptions, for every row alike (nothing is tuned per row):
  - the measured TTFT/TPOT are per-benchmark means of a closed loop of `silicon_concurrency` clients
    all starting at t = 0; the run has 10 x concurrency requests (at least 32);
  - weights in the row's gemm_quant_mode (fp8/fp8_block -> fp8, nvfp4 -> fp4, empty -> bf16), and
    the KV cache in fp8 when the weights are quantized, else bf16 (the CSV does not say);
  - one replica of TP = tp_size on one node of the system; the engine's own scheduler defaults,
    except chunked prefill on for TensorRT-LLM too: its library default is off, but unchunked, an
    8,192-token prompt could never join a batch beside running decodes under the default 8,192-token
    budget, and the measured TTFTs of those rows (1-2 s) show it did.
"""
import argparse
import math
import os
import sys
import time

import foresight

SYSTEMS = {"h100_sxm": "dgx-h100", "h200_sxm": "hgx-h200", "b200_sxm": "dgx-b200"}
MODELS = {
    "meta-llama/Llama-3.1-70B": ("llama3.1-70b", "meta-llama/Meta-Llama-3.1-70B"),
    "meta-llama/Llama-3.1-8B-Instruct": ("llama3.1-8b", "meta-llama/Meta-Llama-3.1-8B"),
    "nvidia/Llama-3.1-8B-Instruct-FP8": ("llama3.1-8b", "meta-llama/Meta-Llama-3.1-8B"),
    "Qwen/Qwen3-32B": ("qwen3-32b", "Qwen/Qwen3-32B"),
    "Qwen/Qwen3-235B-A22B-FP8": ("qwen3-235b-a22b", "Qwen/Qwen3-235B-A22B-FP8"),
    "deepseek-ai/DeepSeek-R1": ("deepseek-v3", "deepseek-ai/DeepSeek-R1"),   # DeepSeek-V3's architecture
    "deepseek-ai/DeepSeek-V3": ("deepseek-v3", "deepseek-ai/DeepSeek-V3"),
}
MOE = {"qwen3-235b-a22b", "deepseek-v3"}


def as_int(v, default):
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return default


def moe_split(row):
    """(moe_tp, moe_ep) of a MoE row whose experts split over its tp GPUs, else None."""
    tp, mtp, mep = as_int(row["tp_size"], 1), as_int(row["moe_tp_size"], 0), as_int(row["moe_ep_size"], 0)
    if as_int(row["attention_dp_size"], 1) != 1 or as_int(row["pp_size"], 1) != 1 or mtp * mep != tp:
        return None
    return mtp, mep
PRECISION = {"fp8": "fp8", "fp8_block": "fp8", "nvfp4": "fp4", "": "bf16"}


def silicon_csv():
    try:
        import aiconfigurator_core
    except ImportError:
        sys.exit("bench/serving_silicon.py needs the aiconfigurator-core wheel: pip install -r bench/requirements.txt")
    return os.path.join(os.path.dirname(aiconfigurator_core.__file__), "systems", "silicon_sample.csv")


def concurrency(row):
    for part in str(row["silicon_data_source"]).split(";"):
        if part.startswith("silicon_concurrency="):
            return int(float(part.split("=", 1)[1]))
    return int(row["batch_size"])


def rows(limit, model=""):
    import pandas as pd

    df = pd.read_csv(silicon_csv(), keep_default_na=False)
    df = df[(df["mode"] == "agg") & df["model_path"].isin(MODELS) & df["system"].isin(SYSTEMS)]
    df = df[df["gemm_quant_mode"].isin(PRECISION)]
    moe = df["model_path"].map(lambda p: MODELS[p][0] in MOE)
    df = df[~moe | df.apply(lambda r: moe_split(r) is not None, axis=1)]
    if model:
        df = df[df["model_path"].map(lambda p: MODELS[p][0] == model)]
    return df.head(limit) if limit else df


def scenario(row, calibration="auto"):
    model = MODELS[row["model_path"]][0]
    precision = PRECISION[row["gemm_quant_mode"]]
    kv = "fp8" if precision != "bf16" else "bf16"
    tp = int(row["tp_size"])
    c = concurrency(row)
    return f"""name: silicon-{row['id']}
seed: 1
fidelity: analytical
calibration: {calibration}
cluster: {{system: {SYSTEMS[row['system']]}, nodes: {max(1, math.ceil(tp / 8))}}}
model: {model}
serving:
  engine: {row['backend']}
  precision: {precision}
  kv_dtype: {kv}
  replicas: 1
  parallelism: {{tp: {tp}{f", ep: {moe_split(row)[1]}" if model in MOE else ""}}}
  scheduler: {{chunked_prefill: true}}
  workload:
    requests: {max(32, 10 * c)}
    arrivals: {{kind: closed_loop, concurrency: {c}}}
    input_tokens: {{dist: fixed, value: {int(row['isl'])}}}
    output_tokens: {{dist: fixed, value: {int(row['osl'])}}}
""", c


def aic_estimate(row, c):
    from aiconfigurator.cli.api import cli_estimate

    quant = row["gemm_quant_mode"] or None
    r = cli_estimate(model_path=MODELS[row["model_path"]][1], system_name=row["system"], backend_name=row["backend"],
                     mode="agg", isl=int(row["isl"]), osl=int(row["osl"]), batch_size=int(row["batch_size"]),
                     tp_size=int(row["tp_size"]), gemm_quant_mode=quant,
                     **({"moe_tp_size": moe_split(row)[0], "moe_ep_size": moe_split(row)[1]}
                        if MODELS[row["model_path"]][0] in MOE else {}))
    return float(r.ttft), float(r.tpot)


def summarize(frame, tool):
    import numpy as np

    out = []
    for key, g in frame.groupby(["system", "backend", "model"]):
        for metric in ("ttft", "tpot"):
            err = g[f"{tool}_{metric}_err"].abs().dropna()
            if len(err):
                out.append((*key, metric, len(err), 100 * err.median(), 100 * np.percentile(err, 90), 100 * err.max()))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--aic", action="store_true", help="also run AIConfigurator's estimate on each row")
    p.add_argument("--limit", type=int, default=0, help="only the first N rows")
    p.add_argument("--model", default="", help="only the rows of this Foresight catalog model, e.g. qwen3-235b-a22b")
    p.add_argument("--out", default="", help="write per-row results to this CSV")
    p.add_argument("--calibration", default="auto",
                   help="auto (the measured profile of the row's GPU and engine), roofline, or a profile file")
    args = p.parse_args()
    import pandas as pd

    records = []
    t_fs = t_aic = 0.0
    for _, row in rows(args.limit, args.model).iterrows():
        text, c = scenario(row, args.calibration)
        rec = {"id": row["id"], "system": row["system"], "backend": row["backend"], "model": MODELS[row["model_path"]][0],
               "precision": PRECISION[row["gemm_quant_mode"]], "tp": int(row["tp_size"]), "isl": int(row["isl"]),
               "osl": int(row["osl"]), "concurrency": c, "silicon_ttft": float(row["silicon_ttft_ms"]),
               "silicon_tpot": float(row["silicon_tpot_ms"])}
        t0 = time.perf_counter()
        try:
            s = foresight.run_text(text, name=f"silicon-{row['id']}")["serving"]
            rec["foresight_ttft"], rec["foresight_tpot"] = s["ttft_ms"]["mean"], s["tpot_ms"]["mean"]
        except foresight.InputError as e:
            rec["foresight_error"] = str(e)
        t_fs += time.perf_counter() - t0
        if args.aic:
            t0 = time.perf_counter()
            try:
                rec["aic_ttft"], rec["aic_tpot"] = aic_estimate(row, c)
            except Exception as e:  # AIConfigurator reports unsupported configurations by raising
                rec["aic_error"] = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            t_aic += time.perf_counter() - t0
        records.append(rec)
    df = pd.DataFrame(records)
    for tool in ("foresight", "aic"):
        for m in ("ttft", "tpot"):
            if f"{tool}_{m}" in df:
                df[f"{tool}_{m}_err"] = df[f"{tool}_{m}"] / df[f"silicon_{m}"] - 1
    if args.out:
        df.to_csv(args.out, index=False)
    print(f"{len(df)} rows; Foresight {t_fs:.1f} s ({1e3 * t_fs / max(1, len(df)):.0f} ms/row)"
          + (f"; AIConfigurator {t_aic:.1f} s ({1e3 * t_aic / max(1, len(df)):.0f} ms/row)" if args.aic else ""))
    for tool in ("foresight", "aic") if args.aic else ("foresight",):
        print(f"\n{tool}: |error| in % (median / p90 / worst)")
        print(f"{'system':<9} {'framework':<7} {'model':<12} {'metric':<5} {'rows':>4} {'median':>7} {'p90':>7} {'worst':>8}")
        for s in summarize(df, tool):
            print(f"{s[0]:<9} {s[1]:<7} {s[2]:<12} {s[3]:<5} {s[4]:>4} {s[5]:>7.1f} {s[6]:>7.1f} {s[7]:>8.1f}")
        for m in ("ttft", "tpot"):
            col = f"{tool}_{m}_err"
            if col in df and df[col].notna().any():
                print(f"all rows {m}: median |error| {100 * df[col].abs().median():.1f} %")
        if f"{tool}_error" in df:
            print(f"{tool} could not run {df[f'{tool}_error'].notna().sum()} rows")


if __name__ == "__main__":
    main()
