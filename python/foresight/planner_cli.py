"""`foresight plan`: the command-line face of foresight.plan(): the chosen configurations, the
Pareto front of estimated goodput against cost, and how much of the space each stage settled."""
import argparse
import sys

from . import InputError

EXAMPLE = """example:
  foresight plan scenarios/serving-llama31-70b-h100-vllm.yaml --rate 40/s --slo ttft=500ms,tpot=40ms \\
      --gpus h100-sxm-80gb,h200-sxm-141gb --price h100-sxm-80gb=2.5/h,h200-sxm-141gb=3.5/h"""


def _layout(r):
    if r["mode"] == "colocated":
        return f"{r['replicas']} x TP{r['tp']}" + (f"PP{r['pp']}" if r["pp"] > 1 else "")
    p = f"TP{r['prefill_tp']}" + (f"PP{r['prefill_pp']}" if r["prefill_pp"] > 1 else "")
    d = f"TP{r['decode_tp']}" + (f"PP{r['decode_pp']}" if r["decode_pp"] > 1 else "")
    if r["decode_system"] != r["system"]:  # mixed GPU types: say which pool runs on which
        p, d = f"{p} {r['system']}", f"{d} {r['decode_system']}"
    return f"{r['prefill_replicas']}P {p} + {r['decode_replicas']}D {d}"


def _table(frame, columns):
    import pandas as pd

    out = pd.DataFrame({"config": [_layout(r) for _, r in frame.iterrows()]}, index=frame.index)
    for name, (col, fmt) in columns.items():
        out[name] = [("" if v != v else fmt.format(v)) for v in frame[col]]
    return out.to_string(index=False)


def print_plan(frame, top=10, front=12, out=sys.stdout):
    a = frame.attrs
    priced = bool(a["prices_usd_per_gpu_hour"])
    pct = a["slo"].get("percentile", 99)
    cols = {"mode": ("mode", "{}"), "gpu": ("gpu", "{}"), "GPUs": ("gpus", "{}")}
    if priced:
        cols["$/h"] = ("usd_per_hour", "{:.2f}")
    if a["budget_usd_per_hour"] is None:  # at the target rate
        cols.update({f"TTFT p{pct:g} ms": ("ttft_ms", "{:.1f}"), f"TPOT p{pct:g} ms": ("tpot_ms", "{:.2f}"),
                     "attain": ("attainment", "{:.4f}")})
    else:  # the whole deployment's max rate holding the SLO attainment
        cols["goodput req/s"] = ("goodput_per_s", "{:.2f}")
    cols["goodput/GPU"] = ("goodput_per_gpu", "{:.3f}")
    if priced:
        cols["$/Mtok"] = ("usd_per_mtok", "{:.3f}")
    cols["J/tok"] = ("joules_per_token", "{:.2f}")
    goal = (f"most goodput within ${a['budget_usd_per_hour']:g}/h" if a["budget_usd_per_hour"] is not None
            else f"cheapest holding {a['rate_per_s']:g} req/s")
    print(f"plan for {a['scenario']}: {goal}, SLO p{pct:g} TTFT <= {a['slo']['ttft_ms']:g} ms and TPOT <= "
          f"{a['slo']['tpot_ms']:g} ms", file=out)
    chosen = frame[frame.chosen]
    print(f"\nverified by simulation ({len(chosen)} hold the SLO{'; cheapest first' if a['budget_usd_per_hour'] is None else ''}):",
          file=out)
    print(_table(chosen.head(top), cols) if len(chosen) else "  none: raise --max-gpus or --verify, or relax the SLO",
          file=out)
    missed = frame[frame.verified & ~frame.chosen]
    if len(missed):
        print(f"  ({len(missed)} simulated configurations missed the SLO or failed; see the frame's reason column)", file=out)
    pareto = frame[frame.pareto].sort_values("usd_per_hour" if priced else "gpus")
    print(f"\nPareto front, estimated goodput against {'cost' if priced else 'GPUs'} ({len(pareto)} configurations"
          f"{', first ' + str(front) if len(pareto) > front else ''}):", file=out)
    pcols = {"mode": ("mode", "{}"), "gpu": ("gpu", "{}"), "GPUs": ("gpus", "{}")}
    if priced:
        pcols["$/h"] = ("usd_per_hour", "{:.2f}")
    pcols.update({"est goodput req/s": ("est_goodput_per_s", "{:.2f}"), "est/GPU": ("est_goodput_per_gpu", "{:.3f}")})
    print(_table(pareto.head(front), pcols), file=out)
    print(f"\n{a['candidates']} candidates: {a['pruned']} pruned (memory, model split: the unit simulation's "
          f"reason), {a['below_target_or_over_budget']} below target or over budget by the estimate, "
          f"{a['configurations_simulated']} simulated whole; {a['simulations']} simulations in {a['wall_s']:.1f} s "
          f"({a['candidates_per_s']:.0f} candidates/s)", file=out)
    if a["unit_errors"]:
        first = next(iter(a["unit_errors"].items()))
        print(f"pruned layouts: {len(a['unit_errors'])}, e.g. {first[0]}: {first[1]}", file=out)
    if priced:
        print(f"prices per GPU-hour from {a['price_source']}: "
              + ", ".join(f"{g} ${p:g}" for g, p in a["prices_usd_per_gpu_hour"].items())
              + "; J/tok at the GPUs' TDP (catalog): an upper bound on board power", file=out)
    else:
        print("no --price: GPUs are the cost; $/h and $/Mtok need a price per GPU type", file=out)


def main(argv=None):
    from .planner import MODES, plan

    p = argparse.ArgumentParser(prog="foresight plan", description=__doc__.split("\n\n")[0], epilog=EXAMPLE,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", help="a serving scenario: model, engine, scheduler, workload, SLO")
    p.add_argument("--rate", default=None, help="target requests/s, e.g. 40/s (default: the scenario's)")
    p.add_argument("--slo", default="", help="over the scenario's: ttft=500ms,tpot=40ms,p=99")
    p.add_argument("--gpus", default="", help="GPU or system ids to search, comma-separated (default: the scenario's)")
    p.add_argument("--price", action="append", default=[], help="gpu=dollars/h per GPU, comma-separated or repeated")
    p.add_argument("--budget", default=None, help="dollars/h: the most goodput within it instead of the cheapest at --rate")
    p.add_argument("--modes", default=",".join(MODES), help="colocated, disaggregated or both")
    p.add_argument("--tp", default="", help="TP values per phase (default: divisors of the node size)")
    p.add_argument("--pp", default="1", help="PP values per phase (default 1)")
    p.add_argument("--max-gpus", type=int, default=64)
    p.add_argument("--verify", type=int, default=6, help="layouts simulated whole (cheapest survivors first)")
    p.add_argument("--executor", default="process", choices=["serial", "process", "dask"])
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", default="", help="resumable store of the plan's simulations (.parquet gets the table)")
    p.add_argument("--emit-scenarios", default="", metavar="DIR", help="write each verified configuration as a scenario")
    p.add_argument("--catalog", action="append", default=[], help="a catalog file of your own hardware")
    p.add_argument("--set", action="append", default=[], help="override a scenario key: dotted.key=value (repeatable)")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--plot", default="", help="the Pareto front as a PNG/SVG")
    a = p.parse_args(argv)
    try:
        frame = plan(a.scenario, rate=a.rate, slo=a.slo, gpus=a.gpus or None, prices=a.price, budget=a.budget,
                     modes=[m.strip() for m in a.modes.split(",") if m.strip()], tp=a.tp or None, pp=a.pp,
                     max_gpus=a.max_gpus, verify=a.verify, executor=a.executor, workers=a.workers,
                     store=a.out or None, progress=sys.stderr.isatty(), emit_scenarios=a.emit_scenarios or None,
                     catalog=a.catalog or None, set=a.set or None)
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_plan(frame, top=a.top)
    if a.out.endswith(".parquet"):
        frame.to_parquet(a.out, index=False)
        print(f"table: {a.out}")
    if a.emit_scenarios:
        print(f"scenarios: {(frame.scenario_file != '').sum()} written to {a.emit_scenarios}/")
    if a.plot:
        import matplotlib

        matplotlib.use("Agg")
        from . import plot

        x = "usd_per_hour" if frame.attrs["prices_usd_per_gpu_hour"] else "gpus"
        plot.pareto(frame[frame.est_goodput_per_s.notna()], x=x, y="est_goodput_per_s").figure.savefig(a.plot, bbox_inches="tight")
        print(f"plot: {a.plot}")
    return 0
