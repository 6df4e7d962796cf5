"""Plots of Foresight results (matplotlib). Each function returns the Axes; save with
`ax.figure.savefig("out.png")`.

    fs.plot.pareto(search_frame, x="gpus", y="tokens_per_s")
    fs.plot.breakdown(result_or_frame)          # where the iteration time goes, stacked
    fs.plot.latency_cdf(serving_result)         # TTFT / TPOT CDFs (run with requests=True)
    fs.plot.goodput_vs_rate(sweep_frame)        # SLO goodput and attainment against arrival rate
    fs.plot.timeline("trace.json")              # pipeline schedule: a run with trace=..., trace_detail="passes"
    fs.plot.ettr_vs_gpus(sweep_frame)           # goodput scenarios swept over cluster.nodes
"""
__all__ = ["pareto", "breakdown", "latency_cdf", "goodput_vs_rate", "timeline", "ettr_vs_gpus"]

PARTS = [("compute", "breakdown_s.compute"), ("exposed TP", "breakdown_s.exposed_tp"),
         ("exposed CP", "breakdown_s.exposed_cp"), ("exposed PP", "breakdown_s.exposed_pp"),
         ("exposed DP", "breakdown_s.exposed_dp"), ("bubble", "breakdown_s.bubble"),
         ("optimizer", "breakdown_s.optimizer")]


def _axes(ax):
    import matplotlib

    if ax is not None:
        return ax
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            import IPython  # noqa: F401  (a notebook keeps its own backend)
        except ImportError:
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7, 4))[1]


def pareto(frame, x="gpus", y="tokens_per_s", ax=None, maximize=True):
    """Feasible points of a search/sweep frame, with the Pareto front (best y for no more x)."""
    ax = _axes(ax)
    f = frame[frame["feasible"]] if "feasible" in frame else frame
    f = f.dropna(subset=[x, y])
    ax.scatter(f[x], f[y], s=14, alpha=0.5, label="plans")
    front, best = [], None
    for xv, g in f.sort_values(x).groupby(x, sort=True):
        yv = g[y].max() if maximize else g[y].min()
        if best is None or (yv > best if maximize else yv < best):
            best = yv
            front.append((xv, yv))
    if front:
        ax.plot(*zip(*front), "-o", color="C3", label="Pareto front")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def _breakdown_rows(data):
    import pandas as pd

    if isinstance(data, dict):  # one result document
        b = data["training"]["breakdown_s"]
        row = {f"breakdown_s.{k}": v for k, v in b.items()}
        row["label"] = data["scenario"]
        return pd.DataFrame([row])
    frame = data.copy()
    if "label" not in frame:
        cols = [c for c in ("gpus", "tp", "pp", "dp", "micro_batch") if c in frame]
        frame["label"] = frame[cols].astype(str).agg("/".join, axis=1) if cols else frame.index.astype(str)
    return frame


def breakdown(data, ax=None, top=12):
    """Stacked bars of where the iteration time goes: a training result, or the first `top` rows of a
    search/sweep frame (labelled gpus/tp/pp/dp/micro_batch)."""
    ax = _axes(ax)
    frame = _breakdown_rows(data).head(top)
    bottom = [0.0] * len(frame)
    for name, col in PARTS:
        if col not in frame:
            continue
        vals = frame[col].fillna(0).tolist()
        ax.bar(range(len(frame)), vals, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_xticks(range(len(frame)))
    ax.set_xticklabels(frame["label"], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("seconds per iteration")
    ax.legend(fontsize=8)
    return ax


def latency_cdf(result, ax=None, metrics=("ttft_s", "tpot_s")):
    """Empirical CDFs of per-request latencies (ms) of a serving result run with requests=True, or of
    a requests_frame()."""
    from . import requests_frame

    ax = _axes(ax)
    frame = requests_frame(result) if isinstance(result, dict) else result
    for m in metrics:
        if m not in frame:
            continue
        v = (frame[m].dropna() * 1e3).sort_values()
        ax.plot(v.values, [(i + 1) / len(v) for i in range(len(v))], label=m.replace("_s", "").upper())
    ax.set_xscale("log")
    ax.set_xlabel("ms")
    ax.set_ylabel("fraction of requests")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def goodput_vs_rate(frame, rate="serving.workload.arrivals.rate", ax=None):
    """Goodput (requests/s meeting the SLO) and attainment against the offered rate, from a sweep over
    the arrival rate (the serving section's `goodput.requests_per_s` and `goodput.attainment`)."""
    ax = _axes(ax)
    f = frame.sort_values(rate)
    x = f[rate].astype(str).str.replace("/s", "", regex=False).astype(float)
    ax.plot(x, f["goodput.requests_per_s"], "-o", label="goodput")
    ax.plot(x, x, ":", color="gray", label="offered")
    ax.set_xlabel("arrival rate (requests/s)")
    ax.set_ylabel("requests/s")
    if "goodput.attainment" in f:
        ax2 = ax.twinx()
        ax2.plot(x, f["goodput.attainment"], "--", color="C2", label="SLO attainment")
        ax2.set_ylim(0, 1.05)
        ax2.set_ylabel("SLO attainment")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return ax


def timeline(trace, ax=None, max_ranks=32):
    """The pipeline schedule from a training trace (best written with trace_detail="passes"): one row
    per simulated rank (pipeline stage), forward passes light, backward dark, each labelled with its
    microbatch when there is room."""
    import json

    ax = _axes(ax)
    if not isinstance(trace, dict):
        with open(trace) as f:
            trace = json.load(f)
    rows = {}
    for e in trace["traceEvents"]:
        if e.get("ph") != "X" or e.get("tid") != 0:
            continue
        args = e.get("args", {})
        if "microbatch" not in args and "mb" not in args:
            continue
        rows.setdefault(e["pid"], []).append(e)
    pids = sorted(rows)[:max_ranks]
    end = 0.0
    for y, pid in enumerate(pids):
        for e in rows[pid]:
            fwd = e.get("args", {}).get("pass", "forward") in ("forward", "F")
            start, dur = e["ts"] / 1e6, e["dur"] / 1e6
            end = max(end, start + dur)
            ax.broken_barh([(start, dur)], (y - 0.4, 0.8), facecolors="C0" if fwd else "C3", alpha=0.55 if fwd else 0.8)
    ax.set_yticks(range(len(pids)))
    ax.set_yticklabels([f"rank {p}" for p in pids], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, end * 1.01 if end else 1)
    ax.set_xlabel("seconds (forward light, backward dark)")
    return ax


def ettr_vs_gpus(frame, nodes="cluster.nodes", gpus_per_node=8, ax=None):
    """Effective training time ratio (mean and 5-95 % band) against the job's GPU count, from a sweep
    of a goodput scenario over `cluster.nodes`."""
    ax = _axes(ax)
    f = frame.sort_values(nodes)
    x = f[nodes].astype(float) * gpus_per_node
    ax.plot(x, f["ettr.mean"], "-o", label="ETTR (mean)")
    if "ettr.p5" in f and "ettr.p95" in f:
        ax.fill_between(x, f["ettr.p5"], f["ettr.p95"], alpha=0.25, label="5-95 % of seeds")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("GPUs")
    ax.set_ylabel("effective training time ratio")
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
