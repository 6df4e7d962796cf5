#!/usr/bin/env python3
"""Replays NVIDIA's measured serving points (silicon_sample.csv in the PyPI wheel aiconfigurator-core,
Apache-2.0) that Foresight can express: aggregated (--mode agg, the default) or disaggregated
prefill/decode (--mode disagg) rows, or both (--mode all); closed-loop concurrency, dense models and the
mixture-of-experts rows whose experts split over the replica's tensor-parallel GPUs
(moe_tp x moe_ep = tp_size; rows with data-parallel attention are left out).
Prints TTFT and TPOT errors (per row for disaggregated rows, all of them in --out) and their
median / p90 / worst per system, framework and model, next to AIConfigurator's own estimate on the
same rows (--aic), with each tool's wall time.

    PYTHONPATH=build/python python bench/serving_silicon.py [--mode agg|disagg|all] [--aic] [--limit N] [--out rows.csv]

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
Disaggregated rows (mode = disagg) give each phase's workers, TP/PP, attention DP, MoE TP/EP and batch
size in prefill_* / decode_* columns (their aggregated columns are empty). The first two assumptions
above hold for them too; besides:
  - only rows that give the worker counts and batch sizes are replayed: 1,328 of the 1,602 leave them
    empty (xPyD unknown; AIConfigurator's estimate needs them too), and no count is guessed;
  - xP prefill replicas and yD decode replicas of the row's TP each, placed as Foresight packs them
    (prefill from GPU 0, decode from the next multiple of its TP), on as many 8-GPU nodes as that
    takes; the prompt KV crosses NVLink inside a node or the NICs between nodes;
  - the concurrency is silicon_concurrency, or decode_batch_size x decode_num_workers x
    decode_attention_dp_size where the row does not state it (the product equals it on all 267 rows
    that do): the CSV's decode batch is the closed loop's share per decode worker;
  - each pool's max_num_seqs is the row's batch size for it (prefill_batch_size, 1 on every row;
    decode_batch_size); everything else of the scheduler as for aggregated rows, in both pools;
  - every prompt is prefilled remotely (no conditional rule), taken from one global prefill queue;
    the decode replica is chosen round-robin: the default of Dynamo's frontend (--router-mode), which
    served the TensorRT-LLM, vLLM and Qwen rows (the DeepSeek SGLang rows ran SGLang's own images,
    whose router policy the CSV does not give; with equal, prefix-free prompts any balancing policy
    spreads them alike);
  - the KV hand-off as the engine's connector does it: SGLang's decode worker reserves blocks before
    the prefill writes into them (push); TensorRT-LLM's and vLLM's (NIXL) decode worker reads the KV
    once the prefill is done (pull); not layer-wise; Foresight's default page and message overhead.
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
# Disaggregated rows: the per-phase columns (prefill_*, decode_*) a row must fill to be replayed, how
# each engine's KV connector hands the prompt KV over (module docstring), and the boards' size.
DISAGG_FIELDS = ("batch_size", "num_workers", "tp_size", "pp_size", "attention_dp_size")
KV_MODE = {"sglang": "push", "trtllm": "pull", "vllm": "pull"}
GPUS_PER_NODE = 8   # every system in SYSTEMS is an 8-GPU board


def pool_split(row, phase):
    """(tp, moe_tp, moe_ep) of a disaggregated row's prefill or decode pool, or None where Foresight
    cannot express it: attention DP, pipeline stages, or experts not split over the pool's tp GPUs."""
    tp = as_int(row[f"{phase}_tp_size"], 0)
    if tp < 1 or as_int(row[f"{phase}_attention_dp_size"], 1) != 1 or as_int(row[f"{phase}_pp_size"], 1) != 1:
        return None
    if MODELS[row["model_path"]][0] not in MOE:
        return tp, 1, 1
    mtp, mep = as_int(row[f"{phase}_moe_tp_size"], 0), as_int(row[f"{phase}_moe_ep_size"], 0)
    return (tp, mtp, mep) if mtp * mep == tp else None


def silicon_csv():
    try:
        import aiconfigurator_core
    except ImportError:
        sys.exit("bench/serving_silicon.py needs the aiconfigurator-core wheel: pip install -r bench/requirements.txt")
    return os.path.join(os.path.dirname(aiconfigurator_core.__file__), "systems", "silicon_sample.csv")


def concurrency(row):
    for part in str(row["silicon_data_source"]).split(";"):
        part = part.strip()
        if part.startswith("silicon_concurrency="):
            return int(float(part.split("=", 1)[1]))
    if row["mode"] == "disagg":   # the decode workers' batches add up to the closed loop's clients
        return (int(row["decode_batch_size"]) * int(row["decode_num_workers"])
                * as_int(row["decode_attention_dp_size"], 1))
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


def disagg_rows(limit, model=""):
    """The disaggregated rows Foresight can express, how many the CSV has, and why the others are
    left out (reason -> count, over the whole CSV whatever `limit` and `model` say)."""
    import pandas as pd

    df = pd.read_csv(silicon_csv(), keep_default_na=False)
    df = df[df["mode"] == "disagg"]
    total, skipped = len(df), {}

    def keep(frame, mask, reason):
        if (~mask).sum():
            skipped[reason] = skipped.get(reason, 0) + int((~mask).sum())
        return frame[mask]

    df = keep(df, df.apply(lambda r: all(r[f"{ph}_{f}"] != "" for ph in ("prefill", "decode") for f in DISAGG_FIELDS),
                           axis=1), "no worker counts / batch sizes")
    df = keep(df, df["system"].isin(SYSTEMS), "system not an 8-GPU board replayed here")
    df = keep(df, df["model_path"].isin(MODELS) & df["gemm_quant_mode"].isin(PRECISION), "model or quantization")
    df = keep(df, df.apply(lambda r: pool_split(r, "prefill") is not None and pool_split(r, "decode") is not None,
                           axis=1), "attention DP, PP or experts not split over TP")
    if model:
        df = df[df["model_path"].map(lambda p: MODELS[p][0] == model)]
    return (df.head(limit) if limit else df), total, skipped


def disagg_nodes(row):
    """Nodes for Foresight's packed placement: prefill from GPU 0, decode from the next multiple of
    its TP (TP groups stay aligned, so a gap may open between the pools), rounded up to whole nodes."""
    tp_p, tp_d = pool_split(row, "prefill")[0], pool_split(row, "decode")[0]
    decode_start = math.ceil(int(row["prefill_num_workers"]) * tp_p / tp_d) * tp_d
    return math.ceil((decode_start + int(row["decode_num_workers"]) * tp_d) / GPUS_PER_NODE)


def disagg_scenario(row, calibration="auto"):
    model = MODELS[row["model_path"]][0]
    precision = PRECISION[row["gemm_quant_mode"]]
    kv = "fp8" if precision != "bf16" else "bf16"
    c = concurrency(row)

    def pool(phase):   # xP or yD replicas of the phase's TP (and EP), at most its batch each
        tp, _, ep = pool_split(row, phase)
        workers, batch = int(row[f"{phase}_num_workers"]), int(row[f"{phase}_batch_size"])
        return (f"{{replicas: {workers}, parallelism: {{tp: {tp}{f', ep: {ep}' if model in MOE else ''}}}, "
                f"scheduler: {{max_num_seqs: {batch}}}}}")

    return f"""name: silicon-{row['id']}
seed: 1
fidelity: analytical
calibration: {calibration}
cluster: {{system: {SYSTEMS[row['system']]}, nodes: {disagg_nodes(row)}}}
model: {model}
serving:
  engine: {row['backend']}
  precision: {precision}
  kv_dtype: {kv}
  scheduler: {{chunked_prefill: true}}
  disaggregation:
    prefill: {pool("prefill")}
    decode: {pool("decode")}
    prefill_routing: global_queue
    kv_transfer: {{mode: {KV_MODE[row['backend']]}}}
  router: round_robin
  workload:
    requests: {max(32, 10 * c)}
    arrivals: {{kind: closed_loop, concurrency: {c}}}
    input_tokens: {{dist: fixed, value: {int(row['isl'])}}}
    output_tokens: {{dist: fixed, value: {int(row['osl'])}}}
""", c


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


def aic_disagg_estimate(row):
    """AIConfigurator's disaggregated estimate (DisaggInferenceSession.run_disagg behind cli_estimate)
    of the row's xPyD: each phase's parallelism, batch size and worker count, as its own silicon
    replayer passes them. AIConfigurator reads the experts' format from the checkpoint (block-scaled
    fp8 for DeepSeek-V3/R1); only where the row runs them in nvfp4 is its moe_quant_mode passed:
    unpassed, those rows are priced with fp8 experts and refused as out of memory, while passing the
    CSV's "fp8" elsewhere swaps the block-scaled tables for per-tensor ones (worse TPOT, one row
    without data)."""
    from aiconfigurator.cli.api import cli_estimate

    kw = {}
    for phase in ("prefill", "decode"):
        tp, mtp, mep = pool_split(row, phase)
        kw.update({f"{phase}_tp_size": tp, f"{phase}_pp_size": 1, f"{phase}_attention_dp_size": 1,
                   f"{phase}_batch_size": int(row[f"{phase}_batch_size"]),
                   f"{phase}_num_workers": int(row[f"{phase}_num_workers"])})
        if MODELS[row["model_path"]][0] in MOE:
            kw.update({f"{phase}_moe_tp_size": mtp, f"{phase}_moe_ep_size": mep})
    r = cli_estimate(model_path=MODELS[row["model_path"]][1], system_name=row["system"], backend_name=row["backend"],
                     mode="disagg", isl=int(row["isl"]), osl=int(row["osl"]),
                     gemm_quant_mode=row["gemm_quant_mode"] or None,
                     moe_quant_mode="nvfp4" if row["moe_quant_mode"] == "nvfp4" else None, **kw)
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


def replay(mode, args):
    """Both tools on every row of `mode` that Foresight can express: (per-row frame, Foresight seconds,
    AIConfigurator seconds, and for disagg (rows in the CSV, rows left out by reason), else None)."""
    import pandas as pd

    if mode == "agg":
        frame, coverage = rows(args.limit, args.model), None
    else:
        frame, *coverage = disagg_rows(args.limit, args.model)
    records = []
    t_fs = t_aic = 0.0
    for _, row in frame.iterrows():
        rec = {"id": row["id"], "system": row["system"], "backend": row["backend"], "model": MODELS[row["model_path"]][0],
               "precision": PRECISION[row["gemm_quant_mode"]]}
        if mode == "agg":
            text, c = scenario(row, args.calibration)
            rec["tp"] = int(row["tp_size"])
        else:
            text, c = disagg_scenario(row, args.calibration)
            for phase in ("prefill", "decode"):
                tp, _, ep = pool_split(row, phase)
                rec.update({f"{phase}_workers": int(row[f"{phase}_num_workers"]), f"{phase}_tp": tp, f"{phase}_ep": ep,
                            f"{phase}_batch": int(row[f"{phase}_batch_size"])})
            rec["nodes"] = disagg_nodes(row)
            rec["concurrency_stated"] = "silicon_concurrency=" in row["silicon_data_source"]
        rec.update({"isl": int(row["isl"]), "osl": int(row["osl"]), "concurrency": c,
                    "silicon_ttft": float(row["silicon_ttft_ms"]), "silicon_tpot": float(row["silicon_tpot_ms"])})
        t0 = time.perf_counter()
        try:
            s = foresight.run_text(text, name=f"silicon-{row['id']}")["serving"]
            rec["foresight_ttft"], rec["foresight_tpot"] = s["ttft_ms"]["mean"], s["tpot_ms"]["mean"]
            if mode == "disagg":   # where the TTFT goes: queue / prefill / kv_wait / kv_transfer / first_decode
                for part, v in s["ttft_breakdown_ms"].items():
                    rec[f"foresight_ttft_{part}"] = v["mean"]
        except foresight.InputError as e:
            rec["foresight_error"] = str(e)
        except Exception as e:  # anything else is a Foresight failure to look into: keep it, go on
            rec["foresight_error"] = f"{type(e).__name__}: {e}"
        t_fs += time.perf_counter() - t0
        if args.aic:
            t0 = time.perf_counter()
            try:
                rec["aic_ttft"], rec["aic_tpot"] = aic_estimate(row, c) if mode == "agg" else aic_disagg_estimate(row)
            except Exception as e:  # AIConfigurator reports unsupported configurations by raising
                rec["aic_error"] = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            t_aic += time.perf_counter() - t0
        records.append(rec)
    df = pd.DataFrame(records)
    for tool in ("foresight", "aic"):
        for m in ("ttft", "tpot"):
            if f"{tool}_{m}" in df:
                df[f"{tool}_{m}_err"] = df[f"{tool}_{m}"] / df[f"silicon_{m}"] - 1
    return df, t_fs, t_aic, coverage


def missing(v):
    """A cell the run left empty: its column absent (None) or NaN."""
    return v is None or (isinstance(v, float) and math.isnan(v))


def pct(r, col):
    """A row's signed error in %, or '-' where the tool gave no estimate."""
    return "-" if missing(r.get(col)) else f"{100 * r[col]:+.0f}"


def print_disagg_rows(df, aic):
    """One line per disaggregated row: its xPyD, the measurement, each tool's error and where
    Foresight's TTFT goes (means in ms: queue, prefill, KV wait + transfer, first decode step).
    A concurrency marked * is not stated by the row but derived from its decode batches."""
    print(f"{'row':<52} {'fw':<6} {'model':<11} {'prec':<4} {'xP(tp,ep)/yD(tp,ep)':<22} {'isl/osl':<9} {'conc':>5}"
          f" {'TTFT ms':>8} {'TPOT ms':>7} {'fs TTFT%':>8} {'fs TPOT%':>8}"
          + (f" {'aic TTFT%':>9} {'aic TPOT%':>9}" if aic else "") + "  foresight TTFT: queue/prefill/kv/first")
    for _, r in df.iterrows():
        xpyd = f"{r.prefill_workers}P({r.prefill_tp},{r.prefill_ep})/{r.decode_workers}D({r.decode_tp},{r.decode_ep})"
        conc = f"{r.concurrency}" + ("" if r.concurrency_stated else "*")
        line = (f"{r.id[:52]:<52} {r.backend:<6} {r.model[:11]:<11} {r.precision:<4} {xpyd:<22} {f'{r.isl}/{r.osl}':<9}"
                f" {conc:>5} {r.silicon_ttft:>8.0f} {r.silicon_tpot:>7.1f}"
                f" {pct(r, 'foresight_ttft_err'):>8} {pct(r, 'foresight_tpot_err'):>8}")
        if aic:
            line += f" {pct(r, 'aic_ttft_err'):>9} {pct(r, 'aic_tpot_err'):>9}"
        if not missing(r.get("foresight_ttft_queue")):   # Foresight ran the row
            kv = r.foresight_ttft_kv_wait + r.foresight_ttft_kv_transfer
            line += (f"  {r.foresight_ttft_queue:.0f}/{r.foresight_ttft_prefill:.0f}/{kv:.0f}"
                     f"/{r.foresight_ttft_first_decode:.0f}")
        print(line)
    if not df["concurrency_stated"].all():
        print("* the row does not state its concurrency: decode_batch_size x decode_num_workers")


def report(df, t_fs, t_aic, args, coverage=None):
    """Prints one mode's results; `coverage` (disaggregated rows only): (rows in the CSV, left out by
    reason). Aggregated rows print exactly as before --mode existed."""
    disagg = coverage is not None
    label = "disaggregated " if disagg else ""
    if disagg:
        total, skipped = coverage
        print(f"{total} {label}rows in the CSV; left out: " + "; ".join(f"{n} {why}" for why, n in skipped.items()))
    print(f"{len(df)} {label}rows; Foresight {t_fs:.1f} s ({1e3 * t_fs / max(1, len(df)):.0f} ms/row)"
          + (f"; AIConfigurator {t_aic:.1f} s ({1e3 * t_aic / max(1, len(df)):.0f} ms/row)" if args.aic else ""))
    if df.empty:
        return
    if disagg:
        print()
        print_disagg_rows(df, args.aic)
    for tool in ("foresight", "aic") if args.aic else ("foresight",):
        print(f"\n{tool}: |error| in % (median / p90 / worst)")
        print(f"{'system':<9} {'framework':<7} {'model':<12} {'metric':<5} {'rows':>4} {'median':>7} {'p90':>7} {'worst':>8}")
        for s in summarize(df, tool):
            print(f"{s[0]:<9} {s[1]:<7} {s[2]:<12} {s[3]:<5} {s[4]:>4} {s[5]:>7.1f} {s[6]:>7.1f} {s[7]:>8.1f}")
        for m in ("ttft", "tpot"):
            col = f"{tool}_{m}_err"
            if col in df and df[col].notna().any():
                print(f"all rows {m}: median |error| {100 * df[col].abs().median():.1f} %"
                      + (f", p90 {100 * df[col].abs().quantile(0.9):.1f} %" if disagg else ""))
        if f"{tool}_error" in df:
            print(f"{tool} could not run {df[f'{tool}_error'].notna().sum()} rows")
            if disagg:
                for _, r in df[df[f"{tool}_error"].notna()].iterrows():
                    print(f"  {r.id}: {str(r[f'{tool}_error']).splitlines()[0][:300]}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=("agg", "disagg", "all"), default="agg",
                   help="aggregated rows (default), disaggregated prefill/decode rows, or both")
    p.add_argument("--aic", action="store_true", help="also run AIConfigurator's estimate on each row")
    p.add_argument("--limit", type=int, default=0, help="only the first N rows (of each mode)")
    p.add_argument("--model", default="", help="only the rows of this Foresight catalog model, e.g. qwen3-235b-a22b")
    p.add_argument("--out", default="", help="write per-row results to this CSV")
    p.add_argument("--calibration", default="auto",
                   help="auto (the measured profile of the row's GPU and engine), roofline, or a profile file")
    args = p.parse_args()
    import pandas as pd

    frames = []
    for mode in ("agg", "disagg") if args.mode == "all" else (args.mode,):
        df, t_fs, t_aic, coverage = replay(mode, args)
        if frames:
            print()
        report(df, t_fs, t_aic, args, coverage)
        frames.append(df.assign(mode=mode) if args.mode == "all" else df)
    if args.out:
        pd.concat(frames, ignore_index=True).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
