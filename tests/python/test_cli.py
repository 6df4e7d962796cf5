"""The command-line tools as users run them: exit codes and one-line errors."""
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ["FORESIGHT_BIN"]
CALIBRATE = os.path.join(os.path.dirname(BIN), "foresight-calibrate")
LOGS = os.path.join(ROOT, "tests", "data", "nccl-tests")


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


def test_default_scenario_runs_and_prints_an_nccl_tests_table():
    r = run(BIN, "run", "--set", "fidelity=analytical")
    assert r.returncode == 0, r.stderr
    assert "busbw" in r.stdout and "8589934592" in r.stdout


def test_bad_input_is_one_line_and_exit_code_2():
    r = run(BIN, "run", os.path.join(ROOT, "tests", "data", "bad-scenarios", "unknown-key.yaml"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "'cluster.racks': unknown key" in r.stderr
    r = run(BIN, "run", "--set", "workload.ranks=9")
    assert r.returncode == 2 and "9 ranks do not fit in a cluster of 8 GPUs" in r.stderr
    r = run(BIN, "run", "/nonexistent.yaml")
    assert r.returncode == 2 and "cannot open file" in r.stderr


def test_catalog_lists_sources():
    r = run(BIN, "catalog")
    assert r.returncode == 0 and "h100-sxm-80gb" in r.stdout and "datasheet" in r.stdout.lower()


def test_import_nccl_tests_then_run_with_the_profile(tmp_path):
    profile = tmp_path / "profile.json"
    r = run(CALIBRATE, "import-nccl-tests", os.path.join(LOGS, "all_reduce_perf_h100_8gpu.log"),
            "--system", "dgx-h100", "--out", str(profile))
    assert r.returncode == 0, r.stderr
    assert json.loads(profile.read_text())["schema"] == "foresight-profile/1"
    r = run(BIN, "run", "--json", "--profile", str(profile), "--set", "workload.sizes.min=1MiB")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["collectives"]
    assert all(row["algorithm"] == "calibrated" for row in rows)


def test_calibrate_rejects_a_malformed_log_in_one_line():
    r = run(CALIBRATE, "import-nccl-tests", os.path.join(LOGS, "malformed_truncated.log"), "--system", "dgx-h100",
            "--out", os.devnull)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "malformed_truncated.log" in r.stderr


def test_calibrate_run_without_a_gpu_says_so():
    r = run(CALIBRATE, "run", "--out", os.devnull)
    assert r.returncode in (2, 3)  # 2: built without CUDA; 3: built with CUDA, no GPU present
    assert "GPU" in r.stderr or "CUDA" in r.stderr


def test_cli_catalog_flag_adds_hardware():
    gh200 = os.path.join(ROOT, "scenarios", "catalogs", "gh200.yaml")
    base = [BIN, "run", os.path.join(ROOT, "scenarios", "nccl-allreduce-dgx-h100.yaml"), "--json",
            "--set", "cluster.system=gh200-nvl32", "--set", "cluster.nodes=32", "--set", "workload.ranks=32",
            "--set", "fidelity=analytical"]
    bad = subprocess.run(base, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown system 'gh200-nvl32'" in bad.stderr
    ok = subprocess.run(base + ["--catalog", gh200], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["cluster"]["gpu"] == "gh200-96gb"
    listed = subprocess.run([BIN, "catalog", "--catalog", gh200], capture_output=True, text=True)
    assert listed.returncode == 0 and "gh200-96gb" in listed.stdout
