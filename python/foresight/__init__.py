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

__version__ = _foresight.version()

# Installed with pip, the shipped profiles are package data: put them on the profile search path.
_profiles = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profiles")
if os.path.isdir(_profiles) and _profiles not in os.environ.get("FORESIGHT_PROFILE_PATH", "").split(":"):
    os.environ["FORESIGHT_PROFILE_PATH"] = ":".join(p for p in (os.environ.get("FORESIGHT_PROFILE_PATH"), _profiles) if p)

__all__ = ["run", "run_text", "default_scenario", "catalog", "collectives_frame", "requests_frame", "max_rate",
           "sweep", "inspect", "InputError", "search", "plan", "plot", "cost", "scenarios", "__version__"]


def _overrides(set):
    """`set` as --set strings: a dict {"dotted.key": value} or a list of "dotted.key=value" strings."""
    if set is None:
        return []
    if isinstance(set, dict):
        for k in set:
            if not isinstance(k, str):
                raise TypeError(f"set: keys must be dotted scenario keys (str), not {type(k).__name__}")
        return [f"{k}={_yaml_value(v)}" for k, v in set.items()]
    if isinstance(set, (list, tuple)) and all(isinstance(s, str) for s in set):
        return list(set)
    raise TypeError(f"set must be a dict {{'dotted.key': value}} or a list of 'dotted.key=value' strings, "
                    f"not {type(set).__name__}")


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
        return [os.fsdecode(catalog)]
    if isinstance(catalog, (list, tuple)) and all(isinstance(c, (str, bytes)) or hasattr(c, "__fspath__") for c in catalog):
        return [os.fsdecode(c) for c in catalog]
    raise TypeError(f"catalog must be a path or a list of paths, not {type(catalog).__name__}")


def _path_arg(name, value):
    if isinstance(value, (str, bytes)) or hasattr(value, "__fspath__"):
        return os.fsdecode(value)
    raise TypeError(f"{name} must be a path (str or os.PathLike), not {type(value).__name__}")


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


class _ProgressBar:
    """A tqdm bar fed by the simulator's progress reports (done, total, what)."""

    def __init__(self):
        self.bar = None

    def __call__(self, done, total, what):
        from tqdm.auto import tqdm

        if self.bar is None:
            self.bar = tqdm(total=int(total), unit=" " + what.split()[-1], desc="simulating", leave=False)
        self.bar.total = int(total)
        self.bar.n = int(done)
        self.bar.refresh()
        if done >= total:
            self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _progress(progress):
    """None: no reports; True: a tqdm bar; a callable(done, total, what): yours."""
    if progress is True:
        return _ProgressBar()
    return progress or None


def _scenario_file(path):
    """`path` itself, or the shipped scenario it names when no such file exists here
    ("scenarios/llama3-70b-h100.yaml" works from any directory)."""
    p = _path_arg("path", path)
    if os.path.exists(p):
        return p
    try:
        from .scenarios import path as shipped

        return shipped(p)
    except FileNotFoundError:
        return p  # the C++ loader reports the missing file


def _memory(max_memory):
    """max_memory as the size text the core parses: None -> "", an int -> bytes."""
    if max_memory is None:
        return ""
    if isinstance(max_memory, bool) or not isinstance(max_memory, (int, str)):
        raise TypeError(f"max_memory must be a size such as '8GiB' or a number of bytes, not {type(max_memory).__name__}")
    return f"{max_memory} B" if isinstance(max_memory, int) else max_memory


def inspect(path: "str | os.PathLike", set: "dict | list | None" = None, profile: str = "",
            catalog: "str | list | None" = None) -> dict:
    """The scenario as it resolves, without simulating: workload, fidelity, calibration, cluster
    (system, GPU, nodes, GPUs per node) and the plan (for training: tp, pp, dp, ... as parsed)."""
    return _json.loads(_foresight.inspect_json(path=_scenario_file(path), overrides=_overrides(set),
                                               catalog=_paths(catalog), profile=str(profile)))


def run(path: "str | os.PathLike", set: "dict | list | None" = None, profile: str = "", trace: str = "",
        catalog: "str | list | None" = None, requests: "bool | str | None" = None, max_rate: "float | None" = None,
        trace_detail: str = "", progress=None, max_memory: "str | int | None" = None) -> dict:
    """Simulate the scenario file at `path`; returns the same document as `foresight run --json`.

    `set` overrides scenario keys: a dict {"cluster.nodes": 4} or a list ["cluster.nodes=4"].
    `catalog` adds catalog YAML files of your own hardware (a path or a list), as --catalog does.
    Serving scenarios: `requests=True` (or a path) streams one row per request to a CSV that
    `requests_frame(result)` reads; `max_rate=0.9` also searches the highest arrival rate at which
    90 % of requests meet the SLO (result["serving"]["max_rate"]).
    `trace` writes a Perfetto trace there (streamed); `trace_detail` for training is "ops" (every
    kernel), "layers" (one slice per layer and pass) or "passes" (one per microbatch pass).
    `progress=True` shows a progress bar for long runs (training tasks, serving requests); a
    callable(done, total, what) receives the reports instead.
    `max_memory` ("8GiB", or bytes as an int) bounds what a run may plan to allocate, as --max-memory;
    the default is $FORESIGHT_MAX_MEMORY, else 80 % of available memory.
    Bad input raises foresight.InputError naming the file, line and key.
    """
    bar = _progress(progress)
    try:
        return _json.loads(_foresight.run_json(_scenario_file(path), _overrides(set), str(profile), str(trace),
                                               _paths(catalog), _requests_file(requests), float(max_rate or 0),
                                               str(trace_detail), bar, _memory(max_memory)))
    finally:
        if isinstance(bar, _ProgressBar):
            bar.close()


def run_text(text: str, name: str = "<string>", set: "dict | list | None" = None, profile: str = "", trace: str = "",
             catalog: "str | list | None" = None, requests: "bool | str | None" = None,
             max_rate: "float | None" = None, trace_detail: str = "", progress=None,
             max_memory: "str | int | None" = None) -> dict:
    """Like run(), from scenario YAML text."""
    bar = _progress(progress)
    try:
        return _json.loads(_foresight.run_text_json(text, name, _overrides(set), str(profile), str(trace),
                                                    _paths(catalog), _requests_file(requests), float(max_rate or 0),
                                                    str(trace_detail), bar, _memory(max_memory)))
    finally:
        if isinstance(bar, _ProgressBar):
            bar.close()


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


def sweep(path: "str | os.PathLike", grid: dict, fixed: "dict | None" = None, profile: str = "",
          workers: "int | None" = None, errors: str = "raise", executor="process", store=None,
          progress: bool = True) -> "pandas.DataFrame":
    """Runs the scenario at `path` for every combination of `grid` ({dotted.key: [values]}).

    Returns a pandas DataFrame: one row per collective row (collective benches) or per run (training,
    serving: their section flattened into columns), one column per grid key, the resolved plan
    (`plan.*`) and provenance (version, git revision, scenario hash, overrides, fidelity, calibration).
    Every key is checked against the scenario before anything runs, so a typo is one error, not a
    failed row per point. `executor`: "serial", "process" (default; not threads: the flow backend
    forks), "dask" or a distributed.Client. `store` (a .parquet path) makes the sweep resumable:
    finished points are kept, a re-run skips them. `errors="record"` keeps going past invalid
    combinations (e.g. tp*pp*dp not equal to the GPU count) with the reason in an `error` column.
    """
    import itertools

    import pandas as pd

    from .executors import make_point, run_points
    from .store import file_hash

    if errors not in ("raise", "record"):
        raise ValueError(f"errors must be 'raise' or 'record', not {errors!r}")
    if not isinstance(grid, dict) or not all(isinstance(k, str) for k in grid):
        raise TypeError(f"grid must be a dict {{'dotted.key': [values]}}, not {type(grid).__name__}")
    for k, v in grid.items():
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise TypeError(f"grid['{k}'] must be a list of values, not {type(v).__name__}")
    grid = {k: list(v) for k, v in grid.items()}
    points = 1
    for v in grid.values():
        points *= len(v)
    if points > 1_000_000:
        raise InputError(f"sweep: the grid has {points:,} points (limit 1,000,000); split it or use fs.search")
    scenario = _scenario_file(path)
    keys = list(grid)
    combos = [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
    if not combos:
        return pd.DataFrame()
    # Unknown or misspelt keys fail here, once; values that only some combinations get wrong are
    # the points' own errors.
    for combo in combos:
        overrides = dict(fixed or {}, **combo)
        try:
            inspect(scenario, set=overrides, profile=profile)
            break
        except InputError as e:
            if "unknown key" in str(e) or errors == "raise":
                raise
    h = file_hash(scenario)
    points = [make_point(scenario, dict(fixed or {}, **c), profile=profile, tags=c, scenario_hash=h) for c in combos]
    rows = run_points(points, executor=executor, workers=workers, store=store, progress=progress, desc="sweep")
    if errors == "raise":
        for r in rows:
            if "error" in r:
                raise InputError(r["error"])
    return pd.DataFrame(rows)


from . import plot, scenarios, search  # noqa: E402,F401  (submodules: foresight.search.training, ...)
from . import cost  # noqa: E402  (foresight.cost: single-operation queries; needs the names above)
from .planner import plan  # noqa: E402  (serving capacity planner; needs inspect, run_text)
