"""Plan search for training: enumerate parallelism plans within a GPU count (dp derived), prune the
impossible ones with the reason, simulate the rest (analytical fidelity by default: a 1,000-plan
search of a 70B model takes well under a minute on two cores), and rank them.

    import foresight as fs
    best = fs.search.training("scenarios/llama3-70b-h100.yaml", gpus=[64, 128, 256],
                              space={"tp": [1, 2, 4, 8], "pp": "auto", "micro_batch": [1, 2, 4], "zero": [1, 2, 3]},
                              objective="tokens_per_s", executor="process", store="runs/llama70b.parquet")
    best.head()   # plan, tokens/s, MFU, memory, bottleneck, feasible/reason, provenance

    foresight search scenarios/llama3-70b-h100.yaml --gpus 64,128,256 --space tp=1,2,4,8 --space pp=auto \\
        --out runs/llama70b.parquet
"""
import argparse
import itertools
import json
import math
import sys

from . import InputError, _foresight, _overrides
from .executors import make_point, run_points
from .store import file_hash

# Search keys -> the scenario keys they set (dp is derived, never searched).
KEYS = {"tp": "training.parallelism.tp", "pp": "training.parallelism.pp", "cp": "training.parallelism.cp",
        "vpp": "training.parallelism.vpp", "micro_batch": "training.micro_batch", "zero": "training.zero",
        "recompute": "training.recompute", "sequence_parallel": "training.parallelism.sequence_parallel"}
OBJECTIVES = {"tokens_per_s": True, "mfu": True, "iteration_time_s": False, "tokens_per_s_per_gpu": True}
BREAKDOWN = ["bubble", "exposed_tp", "exposed_pp", "exposed_dp", "exposed_cp", "optimizer"]


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def _auto(key, facts, gpus):
    """The values "auto" stands for, given the model and the GPUs."""
    plan, cluster = facts["plan"], facts["cluster"]
    if key == "tp":
        domain = min(cluster["nvlink_domain"] or cluster["gpus_per_node"], gpus)
        return [d for d in _divisors(domain) if plan["heads"] % d == 0]
    if key == "pp":
        return [d for d in _divisors(plan["layers"]) if d <= gpus]
    if key == "cp":
        return [c for c in (1, 2, 4, 8) if plan["sequence_length"] % (2 * c) == 0 or c == 1]
    if key == "vpp":
        return [1, 2, 3, 4]
    if key == "micro_batch":
        return [1, 2, 4, 8]
    if key == "zero":
        return [0, 1, 2, 3]
    if key == "recompute":
        return ["none", "selective", "full"]
    if key == "sequence_parallel":
        return [False, True]
    raise InputError(f"search space: unknown key '{key}'; searchable: {', '.join(KEYS)}")


def _candidates(facts, gpus, space):
    """Every combination of the space for `gpus` GPUs, with dp derived; (plan, reason) where reason is
    None for plans worth simulating."""
    plan0 = facts["plan"]
    keys = list(space)
    values = [(_auto(k, facts, gpus) if space[k] == "auto" else list(space[k])) for k in keys]
    for combo in itertools.product(*values):
        p = {"tp": plan0["tp"], "pp": plan0["pp"], "cp": plan0["cp"], "vpp": plan0["vpp"],
             "micro_batch": plan0["micro_batch"], "zero": plan0["zero"], "recompute": plan0["recompute"],
             "sequence_parallel": plan0["sequence_parallel"]}
        p.update(dict(zip(keys, combo)))
        model_parallel = p["tp"] * p["pp"] * p["cp"]
        p["gpus"] = gpus
        if gpus % model_parallel:
            p["dp"] = None
            yield p, f"tp*pp*cp = {model_parallel} does not divide {gpus} GPUs"
            continue
        p["dp"] = gpus // model_parallel
        if plan0["global_batch"] % (p["dp"] * p["micro_batch"]):
            yield p, f"global_batch {plan0['global_batch']} is not divisible by dp*micro_batch = {p['dp'] * p['micro_batch']}"
            continue
        if p["vpp"] > 1 and p["pp"] == 1:
            yield p, "vpp > 1 needs pp > 1"
            continue
        yield p, None


def _overrides_of(p, facts, gpus):
    o = {KEYS[k]: p[k] for k in KEYS}
    o["training.parallelism.dp"] = p["dp"]
    o["cluster.nodes"] = gpus // facts["cluster"]["gpus_per_node"]
    if facts["plan"]["schedule"] == "interleaved" or p["vpp"] > 1:
        o["training.schedule"] = "interleaved" if p["vpp"] > 1 else "1f1b"
    if not p["sequence_parallel"] or p["tp"] == 1:
        o["training.parallelism.sequence_parallel"] = False
    return o


def _bottleneck(row):
    parts = {k: row.get(f"breakdown_s.{k}", 0) or 0 for k in BREAKDOWN}
    k, v = max(parts.items(), key=lambda kv: kv[1])
    return k if v > 0.05 * (row.get("iteration_time_s") or 1) else "compute"


def training(scenario: str, gpus: "list[int] | None" = None, space: "dict | None" = None,
             objective: str = "tokens_per_s", executor="process", workers: "int | None" = None, store=None,
             progress: bool = True, fixed: "dict | None" = None, profile: str = "") -> "pandas.DataFrame":
    """Ranks training plans of `scenario` (a training scenario file) for each GPU count in `gpus`
    (default: the scenario's). `space` maps tp/pp/cp/vpp/micro_batch/zero/recompute/sequence_parallel
    to a list of values or "auto"; unlisted keys keep the scenario's value; dp is always derived.
    `fixed` are overrides applied to every plan (e.g. {"fidelity": "analytical"}).

    Returns a DataFrame, best first: the plan (gpus, tp, pp, dp, cp, vpp, micro_batch, zero,
    recompute), `feasible` and `reason` (why a plan was pruned: divisibility found here or by the
    scenario checks, or out of memory after simulating), tokens/s, MFU, iteration time, peak memory,
    the bottleneck (largest non-compute part of the iteration), and provenance columns.
    """
    import pandas as pd

    if objective not in OBJECTIVES:
        raise InputError(f"objective '{objective}': expected one of {', '.join(OBJECTIVES)}")
    fixed = dict(fixed or {})
    facts = json.loads(_foresight.inspect_json(path=str(scenario), overrides=_overrides(fixed), profile=str(profile)))
    if facts["workload"] != "training":
        raise InputError(f"{scenario}: plan search needs a training scenario, this one is '{facts['workload']}'")
    space = dict(space or {})
    for k in space:
        if k not in KEYS:
            raise InputError(f"search space: unknown key '{k}'; searchable: {', '.join(KEYS)} (dp is derived)")
    gpn = facts["cluster"]["gpus_per_node"]
    counts = [int(g) for g in (gpus or [facts["cluster"]["gpus"]])]
    for g in counts:
        if g <= 0 or g % gpn:
            raise InputError(f"gpus {g}: must be a positive multiple of the {gpn} GPUs per {facts['cluster']['system']} node")
    h = file_hash(scenario)
    pruned, points = [], []
    for g in counts:
        for p, reason in _candidates(facts, g, space):
            if reason:
                pruned.append(dict(p, feasible=False, reason=reason))
                continue
            o = dict(fixed)
            o.update(_overrides_of(p, facts, g))
            # The scenario's own checks (heads divisible by tp, layers by pp*vpp, ...) without simulating.
            try:
                _foresight.inspect_json(path=str(scenario), overrides=_overrides(o), profile=str(profile))
            except InputError as e:
                pruned.append(dict(p, feasible=False, reason=str(e)))
                continue
            points.append(make_point(scenario, o, profile=profile, tags={k: p[k] for k in p}, scenario_hash=h))
    rows = run_points(points, executor=executor, workers=workers, store=store, progress=progress, desc="plans")
    out = []
    for r in rows:
        r = dict(r)
        if "error" in r:
            r["feasible"], r["reason"] = False, r.pop("error")
        elif r.get("memory_bytes.oom"):
            r["feasible"] = False
            r["reason"] = (f"out of memory: {r['memory_bytes.peak'] / 2**30:.1f} GiB + "
                           f"{r['memory_bytes.reserved'] / 2**30:.1f} GiB reserved > {r['memory_bytes.capacity'] / 2**30:.1f} GiB")
        else:
            r["feasible"], r["reason"] = True, ""
        if "tokens_per_s" in r:
            r["tokens_per_s_per_gpu"] = r["tokens_per_s"] / r["gpus"]
            r["memory_peak_gib"] = r["memory_bytes.peak"] / 2**30
            r["bottleneck"] = _bottleneck(r)
        out.append(r)
    frame = pd.DataFrame(out + pruned)
    first = ["gpus", "tp", "pp", "dp", "cp", "vpp", "micro_batch", "zero", "recompute", "sequence_parallel",
             "feasible", "reason", objective, "tokens_per_s", "mfu", "iteration_time_s", "memory_peak_gib", "bottleneck"]
    cols = [c for c in dict.fromkeys(first) if c in frame.columns] + [c for c in frame.columns if c not in first]
    frame = frame[cols]
    if "dp" in frame:
        frame["dp"] = frame["dp"].astype("Int64")
    if objective in frame.columns:
        frame = frame.sort_values(["feasible", objective], ascending=[False, not OBJECTIVES[objective]],
                                  na_position="last", kind="stable")
    frame = frame.reset_index(drop=True)
    if store is not None and str(getattr(store, "path", store)).endswith(".parquet"):
        # The search's own table (pruned plans and reasons included) replaces the raw store export.
        frame.to_parquet(str(getattr(store, "path", store)), index=False)
    return frame


def _space_arg(items):
    space = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"--space {item}: expected key=v1,v2,... or key=auto")
        k, v = item.split("=", 1)
        if v == "auto":
            space[k] = "auto"
            continue
        vals = []
        for x in v.split(","):
            try:
                vals.append(int(x))
            except ValueError:
                vals.append({"true": True, "false": False}.get(x.lower(), x))
        space[k] = vals
    return space


def main(argv=None):
    """`foresight search`: the command-line face of training()."""
    p = argparse.ArgumentParser(prog="foresight search", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario")
    p.add_argument("--gpus", default="", help="comma-separated GPU counts (default: the scenario's)")
    p.add_argument("--space", action="append", help="key=v1,v2,... or key=auto (repeatable); default tp=auto pp=auto")
    p.add_argument("--objective", default="tokens_per_s", choices=list(OBJECTIVES))
    p.add_argument("--executor", default="process", choices=["serial", "process", "dask"])
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--set", action="append", default=[], help="an override for every plan: dotted.key=value")
    p.add_argument("--out", default="", help="resumable result store (.parquet, with a .sqlite beside it)")
    p.add_argument("--top", type=int, default=10, help="rows to print")
    p.add_argument("--plot", default="", help="write a Pareto plot (objective vs GPUs) to this PNG/SVG")
    a = p.parse_args(argv)
    try:
        space = _space_arg(a.space) or {"tp": "auto", "pp": "auto"}
        gpus = [int(g) for g in a.gpus.split(",") if g] or None
        fixed = dict(s.split("=", 1) for s in a.set)
        frame = training(a.scenario, gpus=gpus, space=space, objective=a.objective, executor=a.executor,
                         workers=a.workers, store=a.out or None, fixed=fixed, progress=sys.stderr.isatty())
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    import pandas as pd

    feasible = frame[frame["feasible"]]
    cols = [c for c in ["gpus", "tp", "pp", "dp", "cp", "vpp", "micro_batch", "zero", "recompute", a.objective, "mfu",
                        "memory_peak_gib", "bottleneck"] if c in frame.columns]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(feasible[cols].head(a.top).to_string(index=False) if len(feasible) else "no feasible plan")
    print(f"{len(frame)} plans: {len(feasible)} feasible, {len(frame) - len(feasible)} pruned "
          f"({frame[~frame['feasible']]['reason'].str.split(':').str[0].value_counts().head(3).to_dict()})")
    if a.out:
        print(f"results: {a.out}")
    if a.plot:
        from . import plot

        plot.pareto(frame, x="gpus", y=a.objective).figure.savefig(a.plot, bbox_inches="tight")
        print(f"plot: {a.plot}")
    return 0
