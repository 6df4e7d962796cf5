"""Python workflows: plan search, executors, resumable stores, provenance, plots, the console entry
point, shipped scenarios from any directory, and streamed traces."""
import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

import foresight as fs

SMALL = """name: small-search
seed: 1
fidelity: analytical
cluster: {system: dgx-h100, nodes: 1}
model: gpt3-125m
training:
  sequence_length: 2048
  global_batch: 64
  micro_batch: 1
  precision: bf16
  parallelism: {tp: 1, pp: 1, dp: 8}
  recompute: none
"""


@pytest.fixture
def small(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(SMALL)
    return str(p)


def test_search_prunes_with_reasons_and_finds_the_brute_force_optimum(small):
    space = {"tp": [1, 2, 4, 8], "pp": [1, 2, 4, 8], "micro_batch": [1, 2]}
    frame = fs.search.training(small, space=space, executor="serial", progress=False)
    assert len(frame) == 4 * 4 * 2
    feasible = frame[frame.feasible]
    # By hand: 12 heads rule out tp 8, 12 layers pp 8, and tp*pp must divide the 8 GPUs.
    expected = {(tp, pp) for tp in (1, 2, 4) for pp in (1, 2, 4) if 8 % (tp * pp) == 0}
    assert {(r.tp, r.pp) for r in feasible.itertuples()} == expected
    assert len(feasible) == 2 * len(expected)
    assert (feasible.dp == 8 / (feasible.tp * feasible.pp)).all()   # dp derived from the GPU count
    reasons = frame[~frame.feasible].set_index(["tp", "pp", "micro_batch"])["reason"]
    assert "tp*pp*cp = 16 does not divide 8 GPUs" in reasons[(4, 4, 1)]
    assert "heads" in reasons[(8, 1, 1)]
    assert "pp" in reasons[(1, 8, 1)] or "layers" in reasons[(1, 8, 1)]
    # The ranking agrees with running every feasible plan on its own.
    best, best_tps = None, -1
    for r in feasible.itertuples():
        doc = fs.run(small, set={"training.parallelism.tp": r.tp, "training.parallelism.pp": r.pp,
                                 "training.parallelism.dp": int(r.dp), "training.micro_batch": r.micro_batch})
        if doc["training"]["tokens_per_s"] > best_tps:
            best, best_tps = (r.tp, r.pp, r.micro_batch), doc["training"]["tokens_per_s"]
    top = frame.iloc[0]
    assert (top.tp, top.pp, top.micro_batch) == best
    assert top.tokens_per_s == pytest.approx(best_tps)
    # Provenance on every simulated row.
    assert top.foresight_version == fs.__version__ and len(top.scenario_hash) == 16
    assert json.loads(top.overrides)["training.parallelism.dp"] == int(top.dp)


def test_memory_pruning_reason(tmp_path):
    p = tmp_path / "big.yaml"
    p.write_text(SMALL.replace("gpt3-125m", "llama3-70b").replace("heads", "heads"))
    frame = fs.search.training(str(p), space={"tp": [8], "pp": [1]}, executor="serial", progress=False)
    assert not frame.feasible[0] and frame.reason[0].startswith("out of memory:")


def test_sweep_key_typo_fails_before_running(small):
    with pytest.raises(fs.InputError, match="unknown key"):
        fs.sweep(small, {"training.parallelism.tpp": [1, 2]}, executor="serial", progress=False)


def test_dask_gives_the_same_rows_as_serial(small):
    pytest.importorskip("distributed")
    grid = {"training.micro_batch": [1, 2], "training.parallelism.tp": [1, 2],
            "training.parallelism.dp": [8, 4]}
    serial = fs.sweep(small, grid, executor="serial", errors="record", progress=False)
    dask = fs.sweep(small, grid, executor="dask", workers=2, errors="record", progress=False)
    key = ["training.micro_batch", "training.parallelism.tp", "training.parallelism.dp"]
    cols = key + ["tokens_per_s", "error"]
    a = serial.reindex(columns=cols).sort_values(key).reset_index(drop=True)
    b = dask.reindex(columns=cols).sort_values(key).reset_index(drop=True)
    assert a.equals(b)
    assert a["error"].notna().sum() == 4   # tp*dp != 8


def test_killed_search_resumes_without_duplicates(small, tmp_path):
    out = tmp_path / "runs" / "s.parquet"
    cmd = [sys.executable, "-m", "foresight", "search", small, "--space", "tp=1,2,4", "--space", "pp=1,2,4",
           "--space", "micro_batch=1,2,4,8", "--executor", "serial", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = str(out) + ".sqlite"
    deadline = time.time() + 60
    n = 0
    while time.time() < deadline:
        if os.path.exists(db):
            try:
                n = sqlite3.connect(db).execute("SELECT COUNT(*) FROM points").fetchone()[0]
            except sqlite3.OperationalError:
                n = 0
            if n >= 3:
                break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert n >= 3
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    import pandas as pd

    rows = pd.read_parquet(out)
    assert len(rows) == 9 * 4                      # every plan of the space, pruned ones with their reason
    simulated = rows[rows.overrides.notna()]
    # tp*pp divides 8 for (1,1),(1,2),(1,4),(2,1),(2,2),(2,4),(4,1),(4,2): 8 plans x 4 micro-batches,
    # each simulated once across the killed run and the resumed one.
    assert len(simulated) == 32 and simulated.overrides.is_unique
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM points").fetchone()[0] == 32


def test_console_entry_point_and_shipped_scenarios_from_any_directory(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)
    r = subprocess.run([sys.executable, "-m", "foresight", "--version"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0 and r.stdout.startswith("foresight " + fs.__version__)
    r = subprocess.run([sys.executable, "-m", "foresight", "run", "scenarios/llama3-70b-h100.yaml", "--json"],
                       capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["plan"]["tp"] == 8
    assert "llama3-70b-h100" in fs.scenarios.names()
    assert os.path.isfile(fs.scenarios.path("validation/megatron-sc21-76.1b"))
    with pytest.raises(FileNotFoundError, match="no shipped scenario"):
        fs.scenarios.path("nope")


def test_streamed_trace_is_valid_json_with_named_tracks(tmp_path):
    path = tmp_path / "t.json"
    doc = fs.run(fs.scenarios.path("llama3-70b-h100"), trace=str(path), trace_detail="layers")
    trace = json.loads(path.read_text())
    names = [e for e in trace["traceEvents"] if e.get("name") == "thread_name"]
    slices = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    assert names and slices
    assert any(e["name"].startswith("F mb0 L") for e in slices)
    assert doc["training"]["iteration_time_s"] > 0


def test_plots_render(small, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    frame = fs.search.training(small, space={"tp": [1, 2], "pp": [1, 2]}, executor="serial", progress=False)
    ax = fs.plot.pareto(frame, x="tp", y="tokens_per_s")
    ax.figure.savefig(tmp_path / "p.png")
    ax = fs.plot.breakdown(frame[frame.feasible])
    ax.figure.savefig(tmp_path / "b.png")
    assert (tmp_path / "p.png").stat().st_size > 1000 and (tmp_path / "b.png").stat().st_size > 1000
    fs.run(small, set={"training.parallelism.pp": 2, "training.parallelism.dp": 4}, trace=str(tmp_path / "t.json"),
           trace_detail="passes")
    ax = fs.plot.timeline(str(tmp_path / "t.json"))
    assert len(ax.get_yticks()) == 2          # one row per pipeline stage


def test_long_runs_report_progress():
    seen = []
    fs.run(fs.scenarios.path("gpt3-175b-1024-a100"),
           progress=lambda done, total, what: seen.append((done, total, what)))
    assert seen and seen[-1][0] == seen[-1][1] and seen[-1][2] == "training tasks"
    assert all(d <= t for d, t, _ in seen) and [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
    seen.clear()
    fs.run(fs.scenarios.path("serving-llama31-70b-h100-vllm"), set={"serving.workload.requests": 500},
           progress=lambda done, total, what: seen.append((done, total, what)))
    assert seen[-1] == (500, 500, "requests")


def test_goodput_ettr_falls_with_gpus_and_plots(tmp_path):
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    rows = []
    for nodes in (1, 4, 16):
        text = SMALL.replace("nodes: 1", f"nodes: {nodes}").replace("dp: 8", f"dp: {8 * nodes}") \
                    .replace("global_batch: 64", f"global_batch: {64 * nodes}") + \
            "failures:\n  horizon: 30d\n  runs: 50\n  scale_rates: 20\n  checkpoint: {interval: 1h, tier: tectonic}\n"
        g = fs.run_text(text)["goodput"]
        rows.append({"cluster.nodes": nodes, "ettr.mean": g["ettr"]["mean"], "ettr.p5": g["ettr"]["p5"],
                     "ettr.p95": g["ettr"]["p95"]})
    frame = pd.DataFrame(rows)
    assert frame["ettr.mean"].is_monotonic_decreasing   # more GPUs, more interruptions
    ax = fs.plot.ettr_vs_gpus(frame)
    ax.figure.savefig(tmp_path / "e.png")
    assert (tmp_path / "e.png").stat().st_size > 1000
