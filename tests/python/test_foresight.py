import json
import os
import subprocess

import pytest

import foresight

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIO = os.path.join(ROOT, "scenarios", "nccl-allreduce-dgx-h100.yaml")


def test_run_matches_cli_json():
    overrides = {"fidelity": "analytical", "workload.sizes.max": "64MiB"}
    result = foresight.run(SCENARIO, set=overrides)
    cli = subprocess.run(
        [os.environ["FORESIGHT_BIN"], "run", SCENARIO, "--json"] + [f"--set={k}={v}" for k, v in overrides.items()],
        check=True, capture_output=True, text=True)
    assert result == json.loads(cli.stdout)
    rows = result["collectives"]
    assert [r["bytes"] for r in rows] == [1024 * 2**i for i in range(17)]
    # busbw is algbw x 2(n-1)/n for all_reduce (nccl-tests PERFORMANCE.md)
    for r in rows:
        assert r["busbw_GBps"] == pytest.approx(r["algbw_GBps"] * 2 * 7 / 8)


def test_bad_input_raises_input_error_naming_the_key():
    with pytest.raises(foresight.InputError, match=r"--set cluster.nodes: 'cluster.nodes': must be an integer from 1 to 1000000"):
        foresight.run(SCENARIO, set={"cluster.nodes": 0})
    with pytest.raises(foresight.InputError, match=r"<string>:1:7: 'name'"):
        foresight.run_text("name: [a, b]\n")


def test_sweep_into_a_dataframe():
    frames = [foresight.collectives_frame(foresight.run(SCENARIO, set={
        "fidelity": "analytical", "cluster.nodes": nodes, "workload.ranks": 8 * nodes,
        "workload.sizes.min": "1GiB", "workload.sizes.max": "1GiB"})) for nodes in (1, 2, 4)]
    import pandas as pd
    frame = pd.concat(frames)
    assert list(frame["ranks"]) == [8, 16, 32]
    assert (frame["time_s"] > 0).all()


def test_catalog_lists_sources():
    cat = foresight.catalog()
    assert "h100-sxm-80gb" in cat["gpus"]
    assert cat["gpus"]["h100-sxm-80gb"]["sources"]["memory_bandwidth"]


def test_flow_fidelity_runs_repeatedly_in_one_process():
    # SimGrid allows one engine per process; each flow run happens in a forked child.
    overrides = {"cluster.nodes": 2, "workload.ranks": 16, "workload.sizes.min": "1MiB", "workload.sizes.max": "4MiB"}
    first = foresight.run(SCENARIO, set=overrides)
    second = foresight.run(SCENARIO, set=overrides)
    assert first["fidelity"] == "flow"
    assert first == second


def test_sweep_over_a_grid_records_invalid_plans():
    training = os.path.join(ROOT, "scenarios", "llama3-70b-h100.yaml")
    frame = foresight.sweep(training, {"training.parallelism.tp": [4, 8], "training.parallelism.pp": [4, 8]},
                            fixed={"fidelity": "analytical"}, errors="record")
    assert len(frame) == 4
    # 512 GPUs with dp fixed at 16 by the scenario: tp*pp must be 32, so (4, 8) and (8, 4) are valid;
    # the other two are reported in the error column, naming the keys, not raised.
    ok = frame[frame["error"].isna()]
    assert list(zip(ok["training.parallelism.tp"], ok["training.parallelism.pp"])) == [(4, 8), (8, 4)]
    assert (ok["iteration_time_s"] > 0).all()
    assert frame["error"].dropna().str.contains("training.parallelism").all()


def test_user_catalog_files_from_python():
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    gh200 = os.path.join(root, "scenarios", "catalogs", "gh200.yaml")
    r = foresight.run(os.path.join(root, "scenarios", "nccl-allreduce-dgx-h100.yaml"),
                      set={"cluster.system": "gh200-nvl32", "cluster.nodes": 32, "workload.ranks": 32,
                           "fidelity": "analytical", "workload.sizes.max": "4MiB"},
                      catalog=gh200)
    assert r["cluster"]["gpu"] == "gh200-96gb"
    assert "gh200-96gb" in foresight.catalog(gh200)["gpus"]
    with pytest.raises(foresight.InputError):
        foresight.run(os.path.join(root, "scenarios", "nccl-allreduce-dgx-h100.yaml"),
                      set={"cluster.system": "gh200-nvl32"})


def test_serving_requests_frame_and_max_rate():
    scenario = os.path.join(ROOT, "scenarios", "serving-llama31-70b-h100-vllm.yaml")
    r = foresight.run(scenario, set={"serving.workload.requests": 200}, requests=True)
    s = r["serving"]
    assert s["completed"] == 200
    frame = foresight.requests_frame(r)
    assert len(frame) == 200
    assert {"arrival_s", "first_token_s", "finish_s", "input_tokens", "output_tokens", "cached_tokens",
            "preemptions", "replica"} <= set(frame.columns)
    # The frame and the summary describe the same requests.
    assert abs(frame["ttft_s"].mean() * 1e3 - s["ttft_ms"]["mean"]) < 1e-6 * s["ttft_ms"]["mean"]
    assert (frame["finish_s"] >= frame["first_token_s"]).all()
    rate = foresight.max_rate(scenario, attainment=0.9, set={"serving.workload.requests": 200})
    assert rate > 0
    with pytest.raises(foresight.InputError):
        foresight.requests_frame(foresight.run(scenario, set={"serving.workload.requests": 10}))
    with pytest.raises(foresight.InputError):
        foresight.run(SCENARIO, requests=True)  # a collective bench has no requests


def test_cost_queries_are_vectorised_and_say_their_source():
    import pandas as pd

    g = foresight.cost.gemm(m=[256, 4096], n=8192, k=8192, gpu="h100-sxm-80gb", calibration="roofline")
    assert list(g["m"]) == [256, 4096] and (g["source"] == "roofline").all()
    # Roofline closed form at a shape without tile or wave losses: 4096x8192 is 32x64 tiles of 128x128
    # ... checked as achieved rate never above the dense peak.
    assert (g["tflops"] < 989.4).all()
    df = pd.DataFrame({"m": [4096], "n": [4096], "k": [4096], "dtype": ["fp8"]})
    fp8 = foresight.cost.gemm(df, gpu="h100-sxm-80gb", calibration="trtllm")
    bf16 = foresight.cost.gemm(m=4096, n=4096, k=4096, gpu="h100-sxm-80gb", calibration="trtllm")
    assert fp8["source"][0] == "profile:h100-sxm-80gb-trtllm" and not fp8["extrapolated"][0]
    assert fp8["seconds"][0] < bf16["seconds"][0]   # measured FP8 kernels are faster than BF16 ones
    assert "trtllm kernels measured on h100-sxm-80gb" in fp8.attrs["calibration"]["why"]
    c = foresight.cost.collective(bytes=[2 ** 20, 2 ** 26], ranks=8, system="dgx-h100")
    assert (c["seconds"] > 0).all() and (c["measured_seconds"] > 0).all()
    with pytest.raises(ValueError, match="unknown column"):
        foresight.cost.gemm(m=1, n=1, k=1, q=3, gpu="h100-sxm-80gb")
    with pytest.raises(foresight.InputError, match=r"shapes\[0\]\.m.*>= 1"):
        foresight.cost.gemm(m=0, n=1, k=1, gpu="h100-sxm-80gb")


def test_arguments_of_the_wrong_type_say_which_and_what():
    with pytest.raises(TypeError, match="set must be a dict"):
        foresight.run("scenarios/llama3-70b-h100.yaml", set=5)
    with pytest.raises(TypeError, match="path must be a path"):
        foresight.run(42)
    with pytest.raises(TypeError, match="catalog must be a path"):
        foresight.run("scenarios/llama3-70b-h100.yaml", catalog=3)
    with pytest.raises(TypeError, match=r"grid\['training.micro_batch'\] must be a list"):
        foresight.sweep("scenarios/llama3-70b-h100.yaml", {"training.micro_batch": 2})
    with pytest.raises(foresight.InputError, match="grid has 1,048,576 points"):
        foresight.sweep("scenarios/llama3-70b-h100.yaml", {f"k{i}": [1, 2, 3, 4] for i in range(10)})


def test_ctrl_c_interrupts_a_long_run_inside_the_simulation():
    import signal
    import sys

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)
    # 400,000 serving requests report progress as they complete; the first report says the run is
    # under way, then Ctrl-C must stop it before the last request (no timing involved).
    code = ("import foresight, sys\n"
            "def report(done, total, what):\n"
            "    print(done, total, flush=True)\n"
            "foresight.run(foresight.scenarios.path('serving-llama31-70b-h100-vllm'), "
            "set={'serving.workload.requests': 400000, 'serving.workload.arrivals.rate': '20/s'}, progress=report)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first = p.stdout.readline().split()
    assert first and float(first[0]) < float(first[1])
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert "KeyboardInterrupt" in err
    last = (out.strip().splitlines() or [" ".join(first)])[-1].split()
    assert float(last[0]) < float(last[1])   # stopped before the run's end


def test_a_plan_over_the_memory_budget_stops_before_allocating():
    # Llama-3-70B: 32 microbatches x 80 layers ~ 2e5 tasks ~ 39 MiB, over a 2 MiB budget. The error
    # names the key that sizes the plan and where the budget came from.
    llama = os.path.join(ROOT, "scenarios", "llama3-70b-h100.yaml")
    with pytest.raises(foresight.InputError, match=r"'training.global_batch'.*budget 2 MiB: --max-memory 2MiB"):
        foresight.run(llama, max_memory="2MiB")
    with pytest.raises(foresight.InputError, match=r"--max-memory: .*no unit"):
        foresight.run(llama, max_memory="12")
    with pytest.raises(TypeError, match="max_memory"):
        foresight.run(llama, max_memory=2.5)
    with pytest.raises(foresight.InputError, match=r"budget 4 MiB"):
        foresight.run(llama, max_memory=4 * 1024 * 1024)
    # Within the budget the same run goes through.
    assert foresight.run(SCENARIO, max_memory="1GiB")["collectives"]


MIXTRAL = """name: mixtral-ep
fidelity: analytical
cluster: {system: hgx-h800, nodes: 2}
model: mixtral-8x7b
training:
  sequence_length: 4096
  global_batch: 32
  parallelism: {tp: 1, pp: 2, dp: 8, ep: 8, order: [tp, cp, dp, pp]}
  moe: {dispatcher: deepep, routing: {distribution: histogram, histogram: [9, 1, 1, 1, 1, 1, 1, 1], fluctuation: expected}}
"""


def test_mixture_of_experts_plans_sweep_from_python(tmp_path):
    # Expert parallelism is a plan column like any other; the result carries the routing's cost.
    # One hot expert (9 of 16 shares) on EP8: the busiest rank gets 9/16 of the tokens, 4.5x the mean.
    path = tmp_path / "mixtral.yaml"
    path.write_text(MIXTRAL)
    frame = foresight.sweep(str(path), {"training.moe.dispatcher": ["deepep", "alltoall"]}, errors="record")
    assert list(frame["plan.ep"]) == [8, 8]
    result = foresight.run(str(path))["training"]
    assert result["moe"]["mean_dispatch_scale"] == pytest.approx(4.5, abs=1 / 64)
    assert result["moe"]["imbalance_s"] > 0
    assert result["breakdown_s"]["exposed_ep"] >= 0
