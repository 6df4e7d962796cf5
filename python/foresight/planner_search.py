"""The simulations of a capacity plan: each run once (and resumable from a store), and the search
for the fewest replicas of a layout that hold the SLO, as coroutines that yield configurations and
receive their results, so every layout advances in one parallel round per step."""
import hashlib
import json

from .planner_candidates import _config_key, _gpus, label


def _simulate(task):
    """One simulation, in a worker: task = (scenario text, name, max-rate attainment or 0)."""
    from . import InputError, run_text

    text, name, attainment = task
    try:
        doc = run_text(text, name=name, max_rate=attainment or None)
    except InputError as e:
        return {"error": str(e)}
    s = doc["serving"]
    g, t = s["goodput"], s["throughput"]
    out = {"attainment": g["attainment"], "slo_met": bool(g["slo_met_at_percentile"]),
           "ttft_ms": g["ttft_at_percentile_ms"], "tpot_ms": g["tpot_at_percentile_ms"],
           "goodput_per_s": g["requests_per_s"], "requests_per_s": t["requests_per_s"],
           "output_tokens_per_s": t["output_tokens_per_s"], "compute_model": s["provenance"]["compute_model"]}
    if "max_rate" in s:
        out["max_rate_per_s"] = s["max_rate"]["rate_per_s"]
    # Where TTFT goes, by pool: waiting for and running the prefill, or waiting for decode blocks, the
    # hand-off and the first decode step (the search grows the pool that holds the time).
    parts = {k: v.get("mean", 0) for k, v in s.get("ttft_breakdown_ms", {}).items()}
    out["ttft_prefill_side_ms"] = parts.get("queue", 0) + parts.get("prefill", 0)
    out["ttft_decode_side_ms"] = parts.get("kv_wait", 0) + parts.get("kv_transfer", 0) + parts.get("first_decode", 0)
    return out


class _Runner:
    """Runs simulation tasks on one pool, each at most once per plan, optionally resumable from a
    store (keyed by the task's content)."""

    def __init__(self, pool, store, progress):
        self.pool, self.store, self.progress = pool, store, progress
        self.done, self.count = {}, 0

    @staticmethod
    def key(task):
        return hashlib.sha256(json.dumps(task).encode()).hexdigest()[:32]

    def run(self, tasks, desc):
        todo, queued = [], set()
        for t in tasks:
            k = self.key(t)
            if k in self.done or k in queued:
                continue
            if self.store is not None and k in self.store:
                self.done[k] = self.store.get(k)
            else:
                todo.append(t)
                queued.add(k)

        def finished(task, result):
            self.done[self.key(task)] = result
            if self.store is not None:
                self.store.add(self.key(task), result)

        self.pool.map(_simulate, todo, on_done=finished, progress=self.progress, desc=desc)
        self.count += len(todo)
        return [self.done[self.key(t)] for t in tasks]


def _bisect(make, ok, start, most):
    """A coroutine (yields configurations, receives their results) for the smallest n in [1, most]
    with ok(result of make(n)), from a first guess: doubling up from a miss, bisecting down from a
    hit. Assumes more replicas never hurt. Returns (n, its result), or (None, None) if `most` misses."""
    n = max(1, min(start, most))
    r = yield make(n)
    if ok(r):
        lo, hi, best = 0, n, r
    else:
        lo, hi, best = n, None, None
        while hi is None:
            n = min(lo * 2, most)
            if n == lo:
                return None, None
            r = yield make(n)
            if ok(r):
                hi, best = n, r
            else:
                lo = n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        r = yield make(mid)
        if ok(r):
            hi, best = mid, r
        else:
            lo = mid
    return hi, best


def _met(r):
    return "error" not in r and r["slo_met"]


def _cheapest(c, slo, max_gpus):
    """A coroutine for the cheapest replica counts of `c`'s layout that hold the SLO at the target
    rate; returns the configuration, or None. Colocated: bisect the replica count. Disaggregated:
    grow from the estimate until the SLO holds (a TTFT miss grows the pool holding most of its time,
    a TPOT miss the decode pool), then bisect each pool down with the other fixed."""
    if c["mode"] == "colocated":
        n, _ = yield from _bisect(lambda n: dict(c, replicas=n), _met, c["replicas"], max_gpus // (c["tp"] * c["pp"]))
        return None if n is None else dict(c, replicas=n)
    x, y = c["prefill_replicas"], c["decode_replicas"]
    for _ in range(12):
        r = yield dict(c, prefill_replicas=x, decode_replicas=y)
        if "error" in r:
            return None
        if r["slo_met"]:
            break
        ttft_miss = r["ttft_ms"] > slo["ttft_ms"]
        grow_x = ttft_miss and r["ttft_prefill_side_ms"] >= r["ttft_decode_side_ms"]
        grow_y = r["tpot_ms"] > slo["tpot_ms"] or (ttft_miss and not grow_x)
        x, y = x + grow_x * max(1, x // 2), y + grow_y * max(1, y // 2)
        if _gpus(dict(c, prefill_replicas=x, decode_replicas=y)) > max_gpus:
            return None
    else:
        return None
    x, _ = yield from _bisect(lambda n: dict(c, prefill_replicas=n, decode_replicas=y), _met, x, x)
    y, _ = yield from _bisect(lambda n: dict(c, prefill_replicas=x, decode_replicas=n), _met, y, y)
    return dict(c, prefill_replicas=x, decode_replicas=y)


def _yaml(doc):
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=120)


def _verify_rate(runner, base, starts, rate, slo_over, slo, max_gpus):
    """Runs each start's _cheapest search, all layouts advancing together (one parallel round of
    simulations per step). Returns ({config key: result} of every configuration simulated, the
    keys of the cheapest passing configuration per layout)."""
    seen, chosen, active = {}, [], []

    def advance(gen, result):
        """Feeds results the search already has; returns the next configuration it needs, or None."""
        try:
            cfg = gen.send(result)
            while _config_key(cfg) in seen:
                cfg = gen.send(seen[_config_key(cfg)])
            return cfg
        except StopIteration as done:
            if done.value is not None:
                chosen.append(_config_key(done.value))
            return None

    for c in starts:
        gen = _cheapest(c, slo, max_gpus)
        cfg = advance(gen, None)
        if cfg is not None:
            active.append((gen, cfg))
    while active:
        todo = list({_config_key(cfg): cfg for _, cfg in active if _config_key(cfg) not in seen}.values())
        tasks = [(_yaml(base.scenario(c, rate, slo_over, label(c))), f"plan:{label(c)}", 0) for c in todo]
        for c, r in zip(todo, runner.run(tasks, "verifying")):
            seen[_config_key(c)] = r
        active = [(gen, nxt) for gen, cfg in active if (nxt := advance(gen, seen[_config_key(cfg)])) is not None]
    return seen, chosen


def _verify_budget(runner, base, starts, rate, slo_over, attainment):
    """A max-rate search of each whole deployment: its goodput at the SLO."""
    tasks = [(_yaml(base.scenario(c, rate, slo_over, label(c))), f"plan:{label(c)}", attainment) for c in starts]
    seen = {_config_key(c): r for c, r in zip(starts, runner.run(tasks, "goodput"))}
    return seen, [k for k, r in seen.items() if "error" not in r and r.get("max_rate_per_s", 0) > 0]
