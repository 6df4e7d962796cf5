"""Capacity planning for LLM serving (`foresight plan`, `foresight.plan(...)`): the cheapest
deployments that hold an SLO at a target request rate, or the most goodput within a budget, over
colocated and disaggregated (xPyD) deployments, TP/PP per phase, replica counts and GPU types.

    import foresight as fs
    table = fs.plan("scenarios/serving-llama31-70b-h100-vllm.yaml", rate=40, slo="ttft=500ms,tpot=40ms",
                    gpus=["h100-sxm-80gb", "h200-sxm-141gb"], prices={"h100-sxm-80gb": 2.5, "h200-sxm-141gb": 3.5})
    table[table.chosen]          # verified by simulation, cheapest first
    table[table.pareto]          # the front of estimated goodput against cost

How, in four stages (the first and last simulate, in parallel through the executor):
1. Unit rates. For each GPU type (a catalog system) and each layout, one max-rate search at the SLO's
   attainment: a colocated replica; a prefill replica with ample decode behind it and the TPOT SLO
   lifted; a decode replica with ample prefill in front under the whole SLO (DistServe's per-phase
   goodput, except that a decode pool which cannot admit requests as fast as they come delays their
   first token, so its TTFT counts). A layout that does not fit in memory or does not split the
   model fails here and is pruned with the simulator's reason.
2. Bounds. Every candidate (layout x replica counts within `max_gpus`) gets a capacity estimate:
   n R for n colocated replicas, min(x R_p, y R_d) for xPyD (rate matching). Candidates below the
   target are pruned.
3. The cheapest survivor of each layout, cheapest layouts first, is simulated whole at the target
   rate (KV hand-off on the fabric, routing, queueing), and its replica counts searched for the
   fewest that hold the SLO: bisection for colocated; for xPyD, growth from the estimate until it
   holds (a TTFT miss grows the pool that holds most of the TTFT, a TPOT miss the decode pool), then
   bisection of each pool with the other fixed.
4. With a budget instead of a rate: each layout's best split within the budget gets a max-rate
   search of the whole deployment.
"""
import copy
import math
import os
import time

from . import InputError, _overrides as _set_strings, _scenario_file, inspect, planner_inputs
from .executors import TaskPool
from .planner_candidates import (_candidates, _config, _config_key, _gpus, _hardware, _layout_key, _layouts, _nodes,
                                 _units, label)
from .planner_search import _Runner, _verify_budget, _verify_rate, _yaml

MODES = ("colocated", "disaggregated")
OPEN_LOOP = ("poisson", "gamma", "constant")


class _Base:
    """The scenario a plan starts from: its YAML as a dict, its facts, and the hardware to search."""

    def __init__(self, scenario, gpus, catalog, overrides=None):
        import yaml

        self.path = _scenario_file(scenario)
        # A bad scenario (or override) fails here, located, before anything runs.
        facts = inspect(self.path, set=overrides, catalog=catalog)
        if facts["workload"] != "serving":
            raise InputError(f"{self.path}: a capacity plan needs a serving scenario; this one is '{facts['workload']}'")
        with open(self.path) as f:
            self.doc = yaml.safe_load(f)
        for key, value in _overrides(overrides):  # the same dotted keys --set takes
            node = self.doc
            *path, last = key.split(".")
            for part in path:
                node = node.setdefault(part, {})
            node[last] = yaml.safe_load(value) if isinstance(value, str) else value
        arrivals = self.doc["serving"].get("workload", {}).get("arrivals", {})
        kind = arrivals.get("kind") if isinstance(arrivals, dict) else None
        if kind not in OPEN_LOOP:
            raise InputError(f"{self.path}: serving.workload.arrivals: a plan varies the arrival rate; "
                             f"'{kind}' arrivals have none (use {', '.join(OPEN_LOOP)})")
        self.rate = planner_inputs.rate(arrivals.get("rate"), "serving.workload.arrivals.rate")
        self.slo = dict(self.doc["serving"].get("slo") or {})
        self.pools = dict(self.doc["serving"].get("disaggregation") or {})
        cost = self.doc["serving"].get("cost") or {}
        self.scenario_prices = dict(cost.get("usd_per_gpu_hour") or {})
        self.scenario_price_source = cost.get("source", "")
        self.prices, self.price_source = {}, ""  # $/GPU-hour by GPU id as the plan uses them (set by plan())
        self.name = self.doc.get("name", os.path.splitext(os.path.basename(self.path))[0])
        from . import catalog as _catalog

        cat = _catalog(catalog)
        self.systems = [self._system(g, facts, cat) for g in (gpus or [facts["cluster"]["system"]])]
        self.gpu_of = {s: cat["systems"][s]["gpu"] for s in self.systems}
        self.per_node = {s: cat["systems"][s]["gpus_per_node"] for s in self.systems}
        self.tdp = {s: cat["gpus"][self.gpu_of[s]].get("tdp_W", 0) for s in self.systems}
        if len(set(self.systems)) != len(self.systems):
            raise InputError(f"--gpus {','.join(gpus)}: names the same system twice")

    @staticmethod
    def _system(name, facts, cat):
        """A catalog system by its id, or the system for a GPU id (the scenario's own system when
        its GPU matches, else the first DGX, else the first system with that GPU)."""
        if name in cat["systems"]:
            return name
        if name not in cat["gpus"]:
            raise InputError(f"--gpus {name}: not a GPU or system in the catalog (GPUs: {', '.join(sorted(cat['gpus']))})")
        if cat["systems"].get(facts["cluster"]["system"], {}).get("gpu") == name:
            return facts["cluster"]["system"]
        with_gpu = sorted(s for s, v in cat["systems"].items() if v["gpu"] == name)
        if not with_gpu:
            raise InputError(f"--gpus {name}: no system in the catalog has this GPU; add one with --catalog")
        return next((s for s in with_gpu if s.startswith("dgx-")), with_gpu[0])

    def scenario(self, c, rate, slo, label):
        """The scenario document of candidate `c` at `rate` under `slo` (ms keys over the scenario's)."""
        doc = copy.deepcopy(self.doc)
        sv = doc["serving"]
        for k in ("replicas", "parallelism", "placement", "disaggregation"):
            sv.pop(k, None)
        cluster = dict(doc.get("cluster") or {})
        cluster.pop("extra_nodes", None)
        if cluster.get("system") != c["system"]:
            cluster.pop("nic", None)  # the scenario's NIC belongs to its own system
        cluster.update(system=c["system"], nodes=_nodes(c, self.per_node[c["system"]]))
        mixed = c["mode"] == "disaggregated" and c["decode_system"] != c["system"]
        if mixed:  # the decode pool on nodes of its own system, on the same fabric
            decode = c["decode_replicas"] * c["decode_tp"] * c["decode_pp"]
            cluster["extra_nodes"] = [{"system": c["decode_system"],
                                       "nodes": math.ceil(decode / self.per_node[c["decode_system"]])}]
        doc["cluster"] = cluster
        doc["name"] = f"{self.name}-{label}"
        sv["slo"] = dict(self.slo, **slo)
        if self.prices:  # the emitted scenario reports the cost the plan ranked it by
            sv["cost"] = {"usd_per_gpu_hour": dict(self.prices), "source": self.price_source}
        else:
            sv.pop("cost", None)
        sv["workload"]["arrivals"] = dict(sv["workload"]["arrivals"], rate=f"{rate:.6g}/s")
        if c["mode"] == "colocated":
            sv["replicas"], sv["parallelism"] = c["replicas"], {"tp": c["tp"], "pp": c["pp"]}
        else:
            dis = {k: v for k, v in self.pools.items() if k not in ("prefill", "decode")}
            for role in ("prefill", "decode"):
                pool = {"replicas": c[f"{role}_replicas"], "parallelism": {"tp": c[f"{role}_tp"], "pp": c[f"{role}_pp"]}}
                if "scheduler" in (self.pools.get(role) or {}):
                    pool["scheduler"] = self.pools[role]["scheduler"]
                dis[role] = pool
            if mixed:
                dis["decode"] = dict(system=c["decode_system"], **dis["decode"])
            sv["disaggregation"] = dis
        return doc


def _overrides(overrides):
    """(dotted key, value text) pairs from a dict or "key=value" strings, as foresight.run takes them."""
    return [tuple(s.split("=", 1)) for s in _set_strings(overrides)]


def plan(scenario, rate=None, slo=None, gpus=None, prices=None, budget=None, modes=MODES, tp=None, pp=(1,),
         max_gpus=64, verify=6, executor="process", workers=None, store=None, progress=True,
         emit_scenarios=None, catalog=None, set=None):
    """Plans a serving deployment for the serving scenario at `scenario` (its model, engine, scheduler,
    workload and SLO; its replicas, parallelism and cluster are what the plan chooses).

    rate: target requests/s (40 or "40/s"; default the scenario's). slo: "ttft=500ms,tpot=40ms,p=99"
    or a dict, over the scenario's. gpus: GPU or system ids (default the scenario's system).
    prices: {gpu or system: $/GPU-hour}, for every GPU type or none (then GPUs are the cost).
    budget: $/h; instead of the cheapest configuration at `rate`, the most goodput within it.
    modes: colocated and/or disaggregated. tp, pp: the values per phase (default tp: the divisors of
    the node size; pp: 1). max_gpus: the largest deployment considered. verify: how many of the
    cheapest survivors (rate) or best estimates (budget) stage 3/4 simulates. store: a path that makes
    the plan resumable (each simulation is kept). emit_scenarios: a directory to write each verified
    configuration to as a scenario file. set: overrides of the scenario's keys ({"serving.workload.requests":
    500} or ["key=value"]), as foresight.run takes them.

    Returns a DataFrame with one row per candidate: the configuration, `gpus`, `usd_per_hour`,
    `est_goodput_per_s` (stage 2's estimate), `stage` and `reason`, and for simulated rows the
    percentile TTFT/TPOT, attainment, goodput, `usd_per_mtok` (per million output tokens),
    `joules_per_token` (at the GPUs' TDP: an upper bound), `chosen` (per simulated layout, the fewest
    replicas that hold the SLO; in budget mode, each simulated deployment that holds it at some rate)
    and `pareto` (not dominated in cost and estimated goodput). `attrs` holds the inputs, provenance,
    counts and timings.
    """
    import pandas as pd

    t0 = time.perf_counter()
    modes = [modes] if isinstance(modes, str) else list(modes)
    for m in modes:
        if m not in MODES:
            raise InputError(f"--modes {m}: expected {' or '.join(MODES)}")
    if isinstance(max_gpus, bool) or not isinstance(max_gpus, int) or max_gpus <= 0:
        raise InputError(f"--max-gpus {max_gpus}: expected a positive integer")
    if isinstance(verify, bool) or not isinstance(verify, int) or verify <= 0:
        raise InputError(f"--verify {verify}: expected a positive integer")
    tps = planner_inputs.int_list(tp, "--tp") if tp else None
    pps = planner_inputs.int_list(pp, "--pp")
    gpus = [g.strip() for g in gpus.split(",") if g.strip()] if isinstance(gpus, str) else gpus
    base = _Base(scenario, gpus, catalog, set)
    rate = planner_inputs.rate(rate) if rate is not None else base.rate
    slo_over = planner_inputs.slo(slo)
    the_slo = dict(base.slo, **slo_over)
    for k in ("ttft_ms", "tpot_ms"):
        if k not in the_slo:
            raise InputError(f"{base.path}: serving.slo.{k} is not set; give it in the scenario or --slo")
    attainment = the_slo.get("percentile", 99) / 100
    given = planner_inputs.prices(prices)
    price_source = "--price"
    if not given and base.scenario_prices:  # the scenario's own serving.cost, for the GPU types searched
        given = {g: p for g, p in base.scenario_prices.items() if g in base.gpu_of.values()}
        price_source = f"the scenario's serving.cost ({base.scenario_price_source})"
    price = _prices(base, given)
    base.prices = {base.gpu_of[s]: p for s, p in price.items()}
    base.price_source = price_source
    if budget is not None:
        budget = planner_inputs.usd_per_hour(budget, "--budget ")
        if not price:
            raise InputError("--budget needs a --price for every GPU type")

    st = None
    if store is not None:
        from .store import ResultStore

        st = ResultStore(store)
    with TaskPool(executor, workers) as pool:
        runner = _Runner(pool, st, progress)
        # Stage 1: unit rates.
        units, layouts = {}, {}
        for system in base.systems:
            layouts[system] = _layouts(base, system, tps, pps, max_gpus)
            if not layouts[system]:
                raise InputError(f"--max-gpus {max_gpus}: smaller than every tp x pp layout on {system}")
        units = _units(layouts, slo_over, modes)
        tasks = [(_yaml(base.scenario(c, rate, s, "unit-" + "-".join(map(str, k[1:])))), f"plan:{base.name}:unit",
                  attainment) for k, (c, s) in units.items()]
        t_units = time.perf_counter()
        results = runner.run(tasks, "unit rates")
        unit_rate, unit_error = {}, {}
        for k, r in zip(units, results):
            if "error" in r:
                unit_error[k] = r["error"]
            elif r.get("max_rate_per_s", 0) <= 0:
                unit_error[k] = f"misses the SLO even at the lowest rate tried (attainment < {attainment:g})"
            else:
                unit_rate[k] = r["max_rate_per_s"]
        unit_out_tokens = {k: r["output_tokens_per_s"] / r["requests_per_s"] for k, r in zip(units, results)
                           if "error" not in r and r.get("requests_per_s")}
        tokens_per_request = (sum(unit_out_tokens.values()) / len(unit_out_tokens)) if unit_out_tokens else float("nan")

        # Stage 2: every candidate and its estimate.
        rows, by_key = [], {}
        for c, est, err in _candidates(base.systems, layouts, unit_rate, unit_error, max_gpus, modes):
            row = dict(c, gpus=_gpus(c), est_goodput_per_s=est, **_hardware(c, base, price))
            if err:
                row["stage"], row["reason"] = "pruned", err
            elif budget is None and est < rate:
                row["stage"], row["reason"] = "below target", f"estimated capacity {est:.3g} req/s < {rate:g}"
            elif budget is not None and row["usd_per_hour"] > budget:
                row["stage"], row["reason"] = "over budget", f"${row['usd_per_hour']:.2f}/h > ${budget:g}/h"
            else:
                row["stage"], row["reason"] = "survivor", ""
            by_key[_config_key(c)] = len(rows)
            rows.append(row)
        cost = (lambda r: (r["usd_per_hour"], r["gpus"])) if price else (lambda r: (r["gpus"],))

        # Stage 3/4: simulate the best start of each layout: its cheapest survivor (rate) or best
        # estimate within the budget; a layout with no survivor at the target starts from its
        # largest estimate (the estimate is conservative: the search may still find it holds),
        # after every layout that has one.
        def rank(r):
            if budget is not None:
                return (0, -r["est_goodput_per_s"]) + cost(r)
            return (0,) + cost(r) if r["stage"] == "survivor" else (1, -r["est_goodput_per_s"]) + cost(r)

        best = {}
        for r in rows:
            if r["stage"] == "survivor" or (budget is None and r["stage"] == "below target"):
                lk = _layout_key(r)
                if lk not in best or rank(r) < rank(best[lk]):
                    best[lk] = r
        order = sorted(best.values(), key=rank)
        starts = [_config(r) for r in order[:verify]]
        t1 = time.perf_counter()
        simulated, chosen = _verify_rate(runner, base, starts, rate, slo_over, the_slo, max_gpus) if budget is None \
            else _verify_budget(runner, base, starts, rate, slo_over, attainment)
        t2 = time.perf_counter()
    if st is not None:
        st.close()

    for key, r in simulated.items():
        i = by_key[key]
        rows[i].update(r, stage="simulated", verified=True, chosen=key in chosen)
        if "error" in r:
            rows[i]["reason"] = r["error"]
        elif key not in chosen:
            rows[i]["reason"] = "a step of the replica-count search" if r.get("slo_met") else "misses the SLO"
    frame = pd.DataFrame(rows)
    frame = _finish(frame, base, price, budget, rate, tokens_per_request, cost)
    frame.attrs.update({
        "scenario": base.path, "rate_per_s": rate, "slo": the_slo, "attainment_target": attainment, "budget_usd_per_hour": budget,
        "prices_usd_per_gpu_hour": {base.gpu_of[s]: p for s, p in price.items()}, "price_source": base.price_source,
        "power": {base.gpu_of[s]: f"{base.tdp[s]:g} W TDP (catalog)" for s in base.systems},
        "systems": base.systems, "unit_rates_per_s": {"/".join(map(str, k)): v for k, v in unit_rate.items()},
        "unit_errors": {"/".join(map(str, k)): v for k, v in unit_error.items()},
        "candidates": len(frame), "pruned": int((frame.stage == "pruned").sum()),
        "below_target_or_over_budget": int(frame.stage.isin(["below target", "over budget"]).sum()),
        "simulations": runner.count, "simulations_from_store": len(runner.done) - runner.count,
        "configurations_simulated": len(simulated),
        "wall_s": time.perf_counter() - t0, "unit_rates_s": t1 - t_units, "verification_s": t2 - t1})
    frame.attrs["candidates_per_s"] = frame.attrs["candidates"] / frame.attrs["wall_s"]
    if emit_scenarios:
        _emit(frame, base, rate, slo_over, emit_scenarios)
    return frame


def _prices(base, given):
    """$/GPU-hour per searched system, from prices keyed by GPU or system id."""
    if not given:
        return {}
    out = {}
    for key in given:
        if key not in base.systems and key not in base.gpu_of.values():
            raise InputError(f"--price {key}: not one of the GPU types searched ({', '.join(base.gpu_of.values())})")
    for s in base.systems:
        p = given.get(s, given.get(base.gpu_of[s]))
        if p is None:
            raise InputError(f"--price: none for {base.gpu_of[s]}; give every GPU type searched a price, or none")
        out[s] = p
    return out


def _finish(frame, base, price, budget, rate, tokens_per_request, cost):
    """Derived columns, the chosen rows, the Pareto front, and the ranking."""
    import numpy as np

    if "verified" not in frame:
        frame["verified"] = False
    frame["verified"] = frame["verified"].fillna(False).astype(bool)
    for col in ("slo_met", "attainment", "ttft_ms", "tpot_ms", "goodput_per_s", "output_tokens_per_s", "max_rate_per_s"):
        if col not in frame:
            frame[col] = np.nan
    if budget is not None:
        # A max-rate search's own latencies are those of its scenario rate, not of the goodput found.
        frame[["ttft_ms", "tpot_ms", "attainment"]] = np.nan
        frame["goodput_per_s"] = frame["max_rate_per_s"]
        frame["output_tokens_per_s"] = frame["goodput_per_s"] * tokens_per_request
        frame["slo_met"] = frame["goodput_per_s"] > 0
    frame["slo_met"] = frame["slo_met"].astype("boolean")  # NaN where not simulated
    frame["chosen"] = frame["chosen"].fillna(False).astype(bool) if "chosen" in frame else False
    frame["goodput_per_gpu"] = frame["goodput_per_s"] / frame["gpus"]
    frame["est_goodput_per_gpu"] = frame["est_goodput_per_s"] / frame["gpus"]
    tokens = frame["output_tokens_per_s"].where(frame["verified"], rate * tokens_per_request)
    frame["usd_per_mtok"] = frame["usd_per_hour"] / (tokens * 3600 / 1e6)
    frame["joules_per_token"] = frame["watts_at_tdp"] / tokens
    # Pareto: no other candidate is at most as costly with at least the estimated goodput (one strictly).
    c = frame["usd_per_hour"] if price else frame["gpus"].astype(float)
    est = frame["est_goodput_per_s"].astype(float)
    ok = est.notna()
    front = np.zeros(len(frame), dtype=bool)
    idx = frame.index[ok]
    order = sorted(idx, key=lambda i: (c[i], -est[i]))
    best = -1.0
    for i in order:
        if est[i] > best:
            front[i] = True
            best = est[i]
    frame["pareto"] = front
    if budget is None:
        keys = ["chosen", "verified", "usd_per_hour" if price else "gpus", "gpus"]
        frame = frame.sort_values(keys, ascending=[False, False, True, True], kind="stable", na_position="last")
    else:
        frame = frame.sort_values(["chosen", "verified", "goodput_per_s"], ascending=[False, False, False], kind="stable")
    first = ["mode", "gpu", "system", "decode_system", "tp", "pp", "replicas", "prefill_tp", "prefill_pp", "prefill_replicas", "decode_tp",
             "decode_pp", "decode_replicas", "gpus", "usd_per_hour", "chosen", "slo_met", "ttft_ms", "tpot_ms",
             "attainment", "goodput_per_s", "goodput_per_gpu", "usd_per_mtok", "joules_per_token", "est_goodput_per_s",
             "est_goodput_per_gpu", "pareto", "stage", "reason"]
    for col in ("tp", "pp", "replicas", "prefill_tp", "prefill_pp", "prefill_replicas", "decode_tp", "decode_pp", "decode_replicas"):
        if col in frame:
            frame[col] = frame[col].astype("Int64")
    cols = [c for c in first if c in frame] + [c for c in frame if c not in first]
    return frame[cols].reset_index(drop=True)


def _emit(frame, base, rate, slo_over, directory):
    """Writes each verified configuration that holds the SLO as a scenario file; the frame's
    `scenario_file` column says where."""
    os.makedirs(directory, exist_ok=True)
    frame["scenario_file"] = ""
    for rank, (i, row) in enumerate(frame[frame.chosen].iterrows(), 1):
        c = _config(row)
        path = os.path.join(directory, f"{rank:02d}-{label(c)}.yaml")
        head = (f"# Emitted by `foresight plan` from {base.path}: {label(c)} at {rate:g} req/s.\n"
                f"# Predicted p{frame.attrs['slo'].get('percentile', 99):g} TTFT {row.ttft_ms:.1f} ms, "
                f"TPOT {row.tpot_ms:.2f} ms, attainment {row.attainment:.4f}; {row.gpus} GPUs"
                + (f", ${row.usd_per_hour:.2f}/h" if row.usd_per_hour == row.usd_per_hour else "") + ".\n")
        with open(path, "w") as f:
            f.write(head + _yaml(base.scenario(c, rate, slo_over, label(c))))
        frame.loc[i, "scenario_file"] = path
