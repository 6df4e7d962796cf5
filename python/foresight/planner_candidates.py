"""What a capacity plan searches over: candidate deployments (colocated, or xPyD over a pair of
systems), their layouts and GPU counts, the unit deployments whose max rates estimate them, and
each candidate's price and power. Candidates are dicts of plain values, so they key caches and
become table rows as they are."""
import math

_LIFTED_MS = 1e7  # an SLO no request misses: a unit search measures one phase's limit at a time
_AMPLE = 4        # partner replicas behind/in front of a unit (its largest layout): never the bottleneck


def _gpus(c):
    if c["mode"] == "colocated":
        return c["replicas"] * c["tp"] * c["pp"]
    return c["prefill_replicas"] * c["prefill_tp"] * c["prefill_pp"] + c["decode_replicas"] * c["decode_tp"] * c["decode_pp"]


def _nodes(c, per_node):
    """Nodes of the main system the packed placement needs: the decode pool (on the same system)
    starts at the first GPU after the prefill pool that keeps its TP groups aligned."""
    if c["mode"] == "colocated":
        return math.ceil(_gpus(c) / per_node)
    prefill = c["prefill_replicas"] * c["prefill_tp"] * c["prefill_pp"]
    if c["decode_system"] != c["system"]:
        return math.ceil(prefill / per_node)
    start = math.ceil(prefill / c["decode_tp"]) * c["decode_tp"]
    return math.ceil((start + c["decode_replicas"] * c["decode_tp"] * c["decode_pp"]) / per_node)


def label(c):
    """A short name: "tp8pp1x2" colocated, "p2xtp4-d1xtp8" disaggregated."""
    if c["mode"] == "colocated":
        return f"{c['system']}-tp{c['tp']}pp{c['pp']}x{c['replicas']}"
    decode = "" if c["decode_system"] == c["system"] else c["decode_system"] + "-"
    return (f"{c['system']}-p{c['prefill_replicas']}xtp{c['prefill_tp']}pp{c['prefill_pp']}"
            f"-{decode}d{c['decode_replicas']}xtp{c['decode_tp']}pp{c['decode_pp']}")


def _layouts(base, system, tps, pps, max_gpus):
    per_node = base.per_node[system]
    tps = tps or [d for d in (1, 2, 4, 8, 16, 32, 64, 72) if d <= per_node and per_node % d == 0]
    return [(tp, pp) for tp in tps for pp in pps if tp * pp <= max_gpus]


def _decode_kind(prefill_system, decode_system):
    """The unit kind of a decode replica's rate: behind prefill on its own system, or on another."""
    return "decode" if prefill_system == decode_system else f"decode-from-{prefill_system}"


def _units(layouts, slo, modes):
    """The unit deployments whose max rates stage 1 measures: {(system, kind, tp, pp): (candidate, slo)}.
    A decode unit is measured behind ample prefill on each system that may feed it: its TTFT counts
    (a decode pool that cannot admit requests as fast as they come delays their first token), and
    that depends on the prefill's speed."""
    big = {s: max(ls, key=lambda l: (l[0] * l[1], l[0])) for s, ls in layouts.items()}
    lift_tpot = dict(slo, tpot_ms=_LIFTED_MS)
    out = {}
    for system, ls in layouts.items():
        for tp, pp in ls:
            if "colocated" in modes:
                out[(system, "colocated", tp, pp)] = (
                    {"mode": "colocated", "system": system, "tp": tp, "pp": pp, "replicas": 1}, slo)
            if "disaggregated" not in modes:
                continue
            btp, bpp = big[system]
            out[(system, "prefill", tp, pp)] = (
                {"mode": "disaggregated", "system": system, "decode_system": system, "prefill_tp": tp, "prefill_pp": pp,
                 "prefill_replicas": 1, "decode_tp": btp, "decode_pp": bpp, "decode_replicas": _AMPLE}, lift_tpot)
            for feeder in layouts:
                ftp, fpp = big[feeder]
                out[(system, _decode_kind(feeder, system), tp, pp)] = (
                    {"mode": "disaggregated", "system": feeder, "decode_system": system, "prefill_tp": ftp,
                     "prefill_pp": fpp, "prefill_replicas": _AMPLE, "decode_tp": tp, "decode_pp": pp,
                     "decode_replicas": 1}, slo)
    return out


def _candidates(systems, layouts, unit_rate, unit_error, max_gpus, modes):
    """Every candidate configuration with its capacity estimate (None where a unit failed): colocated
    per system; disaggregated per (prefill system, decode system) pair, mixed pairs included (each
    pool's rate is its own system's unit rate). `unit_rate`/`unit_error` are keyed (system, kind, tp, pp)."""
    if "colocated" in modes:
        for system in systems:
            for tp, pp in layouts[system]:
                key = (system, "colocated", tp, pp)
                r, err = unit_rate.get(key), unit_error.get(key)
                for n in range(1, max_gpus // (tp * pp) + 1):
                    c = {"mode": "colocated", "system": system, "tp": tp, "pp": pp, "replicas": n}
                    yield c, (None if err else n * r), err
    if "disaggregated" not in modes:
        return
    for ps in systems:
        for ds in systems:
            for ptp, ppp in layouts[ps]:
                for dtp, dpp in layouts[ds]:
                    gp, gd = ptp * ppp, dtp * dpp
                    dk = (ds, _decode_kind(ps, ds), dtp, dpp)
                    rp, rd = unit_rate.get((ps, "prefill", ptp, ppp)), unit_rate.get(dk)
                    err = unit_error.get((ps, "prefill", ptp, ppp)) or unit_error.get(dk)
                    for x in range(1, (max_gpus - gd) // gp + 1):
                        for y in range(1, (max_gpus - x * gp) // gd + 1):
                            c = {"mode": "disaggregated", "system": ps, "decode_system": ds, "prefill_tp": ptp,
                                 "prefill_pp": ppp, "prefill_replicas": x, "decode_tp": dtp, "decode_pp": dpp,
                                 "decode_replicas": y}
                            yield c, (None if err else min(x * rp, y * rd)), err


def _layout_key(c):
    if c["mode"] == "colocated":
        return (c["system"], "colocated", c["tp"], c["pp"])
    return (c["system"], c["decode_system"], "disaggregated", c["prefill_tp"], c["prefill_pp"], c["decode_tp"], c["decode_pp"])


def _config_key(c):
    return tuple(sorted(c.items()))


def _hardware(c, base, price):
    """The GPU type(s) of candidate `c`, its $/h and its board power at TDP (W; NaN if a TDP is unknown)."""
    pools = [(c["system"], _gpus(c))] if c["mode"] == "colocated" else [
        (c["system"], c["prefill_replicas"] * c["prefill_tp"] * c["prefill_pp"]),
        (c["decode_system"], c["decode_replicas"] * c["decode_tp"] * c["decode_pp"])]
    gpus = list(dict.fromkeys(base.gpu_of[s] for s, _ in pools))
    usd = sum(price[s] * n for s, n in pools) if price else float("nan")
    watts = sum(base.tdp[s] * n for s, n in pools) if all(base.tdp[s] > 0 for s, _ in pools) else float("nan")
    return {"gpu": "+".join(gpus), "usd_per_hour": usd, "watts_at_tdp": watts}


def _config(row):
    keys = ("mode", "system", "tp", "pp", "replicas") if row["mode"] == "colocated" else (
        "mode", "system", "decode_system", "prefill_tp", "prefill_pp", "prefill_replicas", "decode_tp", "decode_pp",
        "decode_replicas")
    return {k: row[k] for k in keys}
