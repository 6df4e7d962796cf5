"""Foresight: predict GPU-cluster collective and training performance by simulation.

    import foresight
    result = foresight.run("scenarios/nccl-allreduce-dgx-h100.yaml", set={"cluster.nodes": 2, "workload.ranks": 16})
    foresight.collectives_frame(result)   # pandas DataFrame, one row per (op, size)
"""
import json as _json

from ._foresight import InputError  # noqa: F401  (re-exported)
from . import _foresight

__all__ = ["run", "run_text", "default_scenario", "catalog", "collectives_frame", "InputError"]


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


def run(path, set=None, profile="", trace=""):
    """Simulate the scenario file at `path`; returns the same document as `foresight run --json`.

    `set` overrides scenario keys: a dict {"cluster.nodes": 4} or a list ["cluster.nodes=4"].
    Bad input raises foresight.InputError naming the file, line and key.
    """
    return _json.loads(_foresight.run_json(str(path), _overrides(set), str(profile), str(trace)))


def run_text(text, name="<string>", set=None, profile="", trace=""):
    """Like run(), from scenario YAML text."""
    return _json.loads(_foresight.run_text_json(text, name, _overrides(set), str(profile), str(trace)))


def default_scenario():
    """The YAML text of the built-in default scenario."""
    return _foresight.default_scenario_text()


def catalog():
    """The hardware catalog (GPUs, systems, NICs, switches, models) with sources, as a dict."""
    return _json.loads(_foresight.catalog_json())


def collectives_frame(result):
    """The `collectives` section of a result as a pandas DataFrame."""
    import pandas as pd

    frame = pd.DataFrame(result.get("collectives", []))
    frame.insert(0, "scenario", result["scenario"])
    return frame
