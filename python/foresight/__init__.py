"""Foresight: predict GPU-cluster collective, training and serving performance by simulation.

    import foresight
    result = foresight.run("scenarios/nccl-allreduce-dgx-h100.yaml", set={"cluster.nodes": 2, "workload.ranks": 16})
    foresight.collectives_frame(result)   # pandas DataFrame, one row per (op, size)
    foresight.sweep("scenarios/llama3-70b-h100.yaml",
                    {"training.parallelism.tp": [2, 4, 8], "training.parallelism.pp": [4, 8]})
"""
import json as _json
import os

from ._foresight import InputError  # noqa: F401  (re-exported)
from . import _foresight

__all__ = ["run", "run_text", "default_scenario", "catalog", "collectives_frame", "requests_frame", "max_rate",
           "sweep", "InputError"]


def _overrides(set):
    if set is None:
        return []
    if isinstance(set, dict):
        return [f"{k}={_yaml_value(v)}" for k, v in set.items()]
    return list(set)


def _yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_yaml_value(x) for x in v) + "]"
    return str(v)


def _paths(catalog):
    if catalog is None:
        return []
    if isinstance(catalog, (str, bytes)) or hasattr(catalog, "__fspath__"):
        return [str(catalog)]
    return [str(c) for c in catalog]


def _requests_file(requests):
    """Where per-request rows go: a path, True for a temporary file, or nothing."""
    if requests is None or requests is False:
        return ""
    if requests is True:
        import tempfile

        fd, path = tempfile.mkstemp(prefix="foresight-requests-", suffix=".csv")
        os.close(fd)
        return path
    return str(requests)


def run(path, set=None, profile="", trace="", catalog=None, requests=None, max_rate=None):
    """Simulate the scenario file at `path`; returns the same document as `foresight run --json`.

    `set` overrides scenario keys: a dict {"cluster.nodes": 4} or a list ["cluster.nodes=4"].
    `catalog` adds catalog YAML files of your own hardware (a path or a list), as --catalog does.
    Serving scenarios: `requests=True` (or a path) streams one row per request to a CSV that
    `requests_frame(result)` reads; `max_rate=0.9` also searches the highest arrival rate at which
    90 % of requests meet the SLO (result["serving"]["max_rate"]).
    Bad input raises foresight.InputError naming the file, line and key.
    """
    return _json.loads(_foresight.run_json(str(path), _overrides(set), str(profile), str(trace), _paths(catalog),
                                           _requests_file(requests), float(max_rate or 0)))


def run_text(text, name="<string>", set=None, profile="", trace="", catalog=None, requests=None, max_rate=None):
    """Like run(), from scenario YAML text."""
    return _json.loads(_foresight.run_text_json(text, name, _overrides(set), str(profile), str(trace), _paths(catalog),
                                                _requests_file(requests), float(max_rate or 0)))


def requests_frame(result):
    """One row per request of a serving run made with requests=True (or a path): arrival, first
    token, finish (seconds), input/output tokens, cached tokens, preemptions, replica, TTFT/TPOT/E2E,
    whether it met the SLO, and why it was rejected if it was."""
    import pandas as pd

    serving = result.get("serving", {})
    if "requests_file" not in serving:
        raise InputError("requests_frame: this result has no per-request file; run the serving scenario with requests=True")
    return pd.read_csv(serving["requests_file"])


def max_rate(path, attainment=0.9, set=None, catalog=None):
    """The highest Poisson/gamma/constant arrival rate (requests/s) at which `attainment` of the
    requests meet both SLOs, by bracketing and bisection over full simulations (within 2 %)."""
    result = run(path, set=set, catalog=catalog, max_rate=attainment)
    return result["serving"]["max_rate"]["rate_per_s"]


def default_scenario():
    """The YAML text of the built-in default scenario."""
    return _foresight.default_scenario_text()


def catalog(files=None):
    """The hardware catalog (GPUs, systems, NICs, switches, models) with sources, as a dict;
    `files` adds catalog YAML files of your own."""
    return _json.loads(_foresight.catalog_json(_paths(files)))


def collectives_frame(result):
    """The `collectives` section of a result as a pandas DataFrame."""
    import pandas as pd

    frame = pd.DataFrame(result.get("collectives", []))
    frame.insert(0, "scenario", result["scenario"])
    return frame


def _flatten(prefix, value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    elif not isinstance(value, list):
        out[prefix] = value


def sweep(path, grid, fixed=None, profile="", workers=None, errors="raise"):
    """Runs the scenario at `path` for every combination of `grid` ({dotted.key: [values]}).

    Returns a pandas DataFrame: one row per collective row (collective benches) or per run
    (training, with the `training` section flattened into columns), plus one column per grid key.
    Runs execute on a thread pool (`workers`, default: CPU count); the simulator releases the GIL.
    `errors="record"` keeps going past configurations that are invalid (e.g. tp*pp*dp not equal to
    the GPU count) and reports them in an `error` column instead of raising.
    """
    import itertools
    import os
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    keys = list(grid)
    combos = [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]

    def one(combo):
        overrides = dict(fixed or {})
        overrides.update(combo)
        try:
            result = run(path, set=overrides, profile=profile)
        except InputError as e:
            if errors != "record":
                raise
            return [dict(combo, error=str(e))]
        if "collectives" in result:
            return [dict(combo, **row) for row in result["collectives"]]
        flat = {}
        _flatten("", result.get("training", {}), flat)
        return [dict(combo, **flat)]

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        rows = [row for rows in pool.map(one, combos) for row in rows]
    return pd.DataFrame(rows)

from . import cost  # noqa: E402  (foresight.cost: single-operation queries; needs the names above)
