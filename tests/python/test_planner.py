"""The serving capacity planner (`foresight plan`): what it chooses holds the SLO when re-run as a
scenario and is the fewest replicas that do; every candidate is accounted for; the Pareto front is
a front; costs are the arithmetic they claim; bad input is one located line; a plan resumes."""
import json
import math
import subprocess
import sys

import pytest

import foresight as fs

# Llama-3.1-8B on H100s behind vLLM, 2048/128 tokens, a p90 SLO: small enough that a plan over TP 1-2
# and six GPUs takes seconds.
SCENARIO = """name: plan-small
seed: 1
fidelity: analytical
cluster: {system: dgx-h100, nodes: 1}
model: llama3.1-8b
serving:
  engine: vllm
  scheduler: {prefix_caching: false}
  replicas: 1
  parallelism: {tp: 1}
  router: least_requests
  slo: {ttft_ms: 150, tpot_ms: 15, percentile: 90}
  workload:
    requests: 400
    arrivals: {kind: poisson, rate: 10/s}
    input_tokens: {dist: fixed, value: 2048}
    output_tokens: {dist: fixed, value: 128}
"""
H100_TDP_W = 700  # hwmodels/catalog/gpus.yaml, h100-sxm-80gb tdp (NVIDIA H100 datasheet, 2023)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    p = tmp_path_factory.mktemp("plan") / "plan-small.yaml"
    p.write_text(SCENARIO)
    return str(p)


@pytest.fixture(scope="module")
def planned(scenario, tmp_path_factory):
    out = tmp_path_factory.mktemp("emitted")
    frame = fs.plan(scenario, rate=14, tp=[1, 2], max_gpus=6, prices={"h100-sxm-80gb": 2.5}, executor="serial",
                    progress=False, emit_scenarios=str(out), verify=8)
    return frame


def _met(doc):
    return doc["serving"]["goodput"]["slo_met_at_percentile"]


def test_chosen_configurations_rerun_as_scenarios_hold_the_slo_with_the_fewest_replicas(planned):
    chosen = planned[planned.chosen]
    assert len(chosen) >= 2 and set(chosen["mode"]) == {"colocated", "disaggregated"}
    for row in chosen.itertuples():
        doc = fs.run(row.scenario_file)
        s = doc["serving"]
        assert _met(doc), row.scenario_file
        assert s["goodput"]["ttft_at_percentile_ms"] <= 150 and s["goodput"]["tpot_at_percentile_ms"] <= 15
        assert s["config"]["rate_per_s"] == 14
        assert s["goodput"]["ttft_at_percentile_ms"] == pytest.approx(row.ttft_ms)  # the plan's numbers are the run's
        # One replica fewer in any pool misses the SLO: the plan found the cheapest count, not just a passing one.
        if row.mode == "colocated":
            fewer = [{"serving.replicas": row.replicas - 1}] if row.replicas > 1 else []
        else:
            fewer = [{f"serving.disaggregation.{pool}.replicas": n - 1}
                     for pool, n in (("prefill", row.prefill_replicas), ("decode", row.decode_replicas)) if n > 1]
        for over in fewer:
            assert not _met(fs.run(row.scenario_file, set=over)), (row.scenario_file, over)


def test_every_candidate_is_counted_once_and_the_front_is_a_front(planned):
    # Layouts: tp in {1, 2}, pp 1. Colocated: floor(6 / tp) replica counts each; xPyD: every (x, y)
    # with x tp_p + y tp_d <= 6.
    coloc = sum(6 // t for t in (1, 2))
    disagg = sum(1 for tp_p in (1, 2) for tp_d in (1, 2) for x in range(1, 7) for y in range(1, 7) if x * tp_p + y * tp_d <= 6)
    assert len(planned) == coloc + disagg == planned.attrs["candidates"]
    keys = ["mode", "tp", "replicas", "prefill_tp", "prefill_replicas", "decode_tp", "decode_replicas"]
    assert not planned[keys].astype(str).duplicated().any()
    assert set(planned["stage"]) <= {"pruned", "below target", "survivor", "simulated"}
    assert planned.attrs["pruned"] + planned.attrs["below_target_or_over_budget"] + (planned.stage == "survivor").sum() \
        + (planned.stage == "simulated").sum() == len(planned)
    # Estimates follow the unit rates: n R colocated, min(x R_p, y R_d) disaggregated.
    units = planned.attrs["unit_rates_per_s"]
    for r in planned.itertuples():
        if r.mode == "colocated":
            expected = r.replicas * units[f"dgx-h100/colocated/{r.tp}/1"]
        else:
            expected = min(r.prefill_replicas * units[f"dgx-h100/prefill/{r.prefill_tp}/1"],
                           r.decode_replicas * units[f"dgx-h100/decode/{r.decode_tp}/1"])
        assert r.est_goodput_per_s == pytest.approx(expected)
    est = planned[["usd_per_hour", "est_goodput_per_s"]].to_numpy()
    front = planned["pareto"].to_numpy()
    for i in range(len(planned)):
        dominated = ((est[:, 0] <= est[i, 0]) & (est[:, 1] >= est[i, 1]) & ((est[:, 0] < est[i, 0]) | (est[:, 1] > est[i, 1]))).any()
        # On the front exactly when nothing is at most as costly with at least the goodput, one strictly
        # (ties in both keep the first).
        assert not (front[i] and dominated)
        if not front[i]:
            assert dominated or any(front[j] and (est[j] == est[i]).all() for j in range(len(planned)))


def test_costs_and_energy_are_their_arithmetic(planned):
    sim = planned[planned.verified & planned.slo_met.fillna(False)]
    assert len(sim)
    for r in sim.itertuples():
        assert r.usd_per_hour == pytest.approx(2.5 * r.gpus)
        assert r.usd_per_mtok == pytest.approx(r.usd_per_hour / (r.output_tokens_per_s * 3600 / 1e6))
        assert r.joules_per_token == pytest.approx(H100_TDP_W * r.gpus / r.output_tokens_per_s)
        assert r.goodput_per_gpu == pytest.approx(r.goodput_per_s / r.gpus)
    cheapest = planned[planned.chosen].iloc[0]
    assert cheapest.usd_per_hour == planned[planned.chosen].usd_per_hour.min()


def test_a_budget_plan_reports_each_deployments_max_rate(scenario):
    frame = fs.plan(scenario, budget="10/h", tp=[1, 2], max_gpus=8, modes="colocated", prices={"h100-sxm-80gb": 2.5},
                    executor="serial", progress=False, verify=2)
    chosen = frame[frame.chosen]
    assert len(chosen) == 2 and (chosen.usd_per_hour <= 10).all()
    for r in chosen.itertuples():
        # Four GPUs fit the budget: four TP1 replicas or two TP2.
        assert r.gpus == 4
        again = fs.max_rate(scenario, attainment=0.9, set={"serving.replicas": r.replicas, "serving.parallelism.tp": r.tp})
        assert r.goodput_per_s == pytest.approx(again)
    assert chosen.goodput_per_s.is_monotonic_decreasing


def test_a_plan_resumes_from_its_store(scenario, tmp_path):
    store = str(tmp_path / "plan.sqlite")
    args = dict(rate=14, tp=[1], max_gpus=4, executor="process", workers=2, progress=False, store=store)
    first = fs.plan(scenario, **args)
    assert first.attrs["simulations"] > 0
    again = fs.plan(scenario, **args)
    assert again.attrs["simulations"] == 0
    assert again.attrs["simulations_from_store"] == first.attrs["simulations"]
    cols = ["mode", "gpus", "chosen", "ttft_ms", "tpot_ms"]
    assert again[cols].equals(first[cols])


@pytest.mark.parametrize("kwargs, message", [
    (dict(prices={"h100-sxm-80gb": -1}), "--price h100-sxm-80gb=-1: a price must be positive"),
    (dict(prices={"a100-sxm-80gb": 2}), "--price a100-sxm-80gb: not one of the GPU types searched"),
    (dict(gpus=["h100-sxm-80gb", "a100-sxm-80gb"], prices={"h100-sxm-80gb": 2}), "--price: none for a100-sxm-80gb"),
    (dict(gpus=["h100-sxm-80gbx"]), "--gpus h100-sxm-80gbx: not a GPU or system in the catalog"),
    (dict(budget="10/h"), "--budget needs a --price"),
    (dict(slo="ttft=fast"), "--slo ttft=fast: expected a time"),
    (dict(slo="itl=5ms"), "--slo itl: unknown key"),
    (dict(rate="0/s"), "--rate 0/s: must be positive"),
    (dict(modes="hybrid"), "--modes hybrid"),
    (dict(tp=[0]), "--tp 0: expected a positive integer"),
    (dict(max_gpus=0), "--max-gpus 0"),
])
def test_bad_input_is_one_located_error(scenario, kwargs, message):
    with pytest.raises(fs.InputError) as e:
        fs.plan(scenario, executor="serial", progress=False, **kwargs)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_plan_needs_an_open_loop_serving_scenario(tmp_path):
    trace = fs.scenarios.path("serving-llama31-8b-trace")
    with pytest.raises(fs.InputError, match="arrivals: a plan varies the arrival rate; 'trace' arrivals have none"):
        fs.plan(trace, executor="serial", progress=False)
    with pytest.raises(fs.InputError, match="needs a serving scenario; this one is 'training'"):
        fs.plan(fs.scenarios.path("llama3-70b-h100"), executor="serial", progress=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace("tpot_ms: 15", "tpot_ms: -15"))
    with pytest.raises(fs.InputError, match=r"bad.yaml:\d+"):  # the scenario's own error, located
        fs.plan(str(bad), executor="serial", progress=False)


def test_the_console_command_prints_the_plan_and_fails_cleanly(scenario, tmp_path):
    cmd = [sys.executable, "-m", "foresight", "plan", scenario, "--rate", "14/s", "--tp", "1", "--max-gpus", "4",
           "--executor", "serial", "--price", "h100-sxm-80gb=2.5/h", "--emit-scenarios", str(tmp_path / "out"),
           "--set", "serving.workload.requests=300"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "verified by simulation" in r.stdout and "Pareto front" in r.stdout and "candidates/s" in r.stdout
    emitted = list((tmp_path / "out").glob("01-*.yaml"))
    assert "scenarios: " in r.stdout and emitted
    assert fs.inspect(str(emitted[0]))  # a valid scenario, with the override applied
    assert "requests: 300" in emitted[0].read_text()
    bad = subprocess.run(cmd[:5] + ["--price", "h100-sxm-80gb=-2/h"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: --price h100-sxm-80gb=-2/h: a price must be positive"


def test_a_plan_over_two_gpu_types_prices_each_pool_on_its_own_and_mixes_them(scenario, tmp_path):
    # H100 and A100 (8B fits one GPU of either): colocated per type, and xPyD over every (prefill
    # type, decode type) pair, mixed ones included, each GPU at its price.
    out = tmp_path / "mixed"
    # A TPOT of 20 ms, which A100 decode replicas fed by H100 prefill can hold.
    frame = fs.plan(scenario, rate=14, slo="tpot=20ms", tp=[1], max_gpus=4, gpus=["h100-sxm-80gb", "a100-sxm-80gb"],
                    prices={"h100-sxm-80gb": 4.75, "a100-sxm-80gb": 2.2}, executor="serial", progress=False,
                    emit_scenarios=str(out), verify=8)
    pairs = sum(1 for x in range(1, 5) for y in range(1, 5) if x + y <= 4)
    assert len(frame) == 2 * 4 + 4 * pairs   # colocated 1-4 replicas per type; 4 (prefill, decode) type pairs
    mixed = frame[(frame["mode"] == "disaggregated") & (frame["system"] != frame["decode_system"])]
    assert len(mixed) == 2 * pairs
    price = {"dgx-h100": 4.75, "dgx-a100": 2.2}
    for r in mixed.itertuples():
        assert r.usd_per_hour == pytest.approx(r.prefill_replicas * price[r.system] + r.decode_replicas * price[r.decode_system])
        assert r.gpu in ("h100-sxm-80gb+a100-sxm-80gb", "a100-sxm-80gb+h100-sxm-80gb")
    chosen = frame[frame.chosen]
    assert ((chosen["mode"] == "disaggregated") & (chosen["system"] != chosen["decode_system"])).any()
    for r in chosen.itertuples():   # every choice, mixed or not, holds the SLO when re-run as a scenario
        doc = fs.run(r.scenario_file)
        assert _met(doc), r.scenario_file
        assert doc["serving"]["cost"]["usd_per_hour"] == pytest.approx(r.usd_per_hour)


def test_the_executors_agree(scenario):
    # The same plan serially, on a process pool and on a local Dask cluster: simulations are
    # deterministic for a seed, so the tables are equal.
    args = dict(rate=14, tp=[1, 2], max_gpus=4, progress=False)
    frames = [fs.plan(scenario, executor=e, workers=2, **args) for e in ("serial", "process", "dask")]
    cols = ["mode", "tp", "replicas", "prefill_tp", "prefill_replicas", "decode_tp", "decode_replicas", "chosen",
            "ttft_ms", "tpot_ms", "est_goodput_per_s"]
    for f in frames[1:]:
        assert f[cols].equals(frames[0][cols])
