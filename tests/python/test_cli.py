"""The command-line tools as users run them: exit codes and one-line errors."""
import json
import os
import subprocess
import sys

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


def test_collective_table_is_an_nccl_tests_log_our_importer_reads(tmp_path):
    log = tmp_path / "sim.log"
    r = run(BIN, "run", "-b", "1M", "-e", "256M", "-f", "2", "--set", "fidelity=analytical")
    assert r.returncode == 0, r.stderr
    log.write_text(r.stdout)
    lines = r.stdout.splitlines()
    assert "# Collective test starting: all_reduce_perf" in lines
    assert any(l.startswith("#  Rank   7 Group  0") for l in lines)
    rows = [l.split() for l in lines if l and not l.startswith("#")]
    assert len(rows) == 9 and rows[0][:5] == ["1048576", "262144", "float", "sum", "-1"]
    assert rows[0][8] == "N/A" and rows[0][5:8] == rows[0][9:12]   # in-place = out-of-place, #wrong N/A
    busbw = [float(x[7]) for x in rows]
    avg = [l for l in lines if l.startswith("# Avg bus bandwidth")][0]
    assert abs(float(avg.split(":")[1]) - sum(busbw) / len(busbw)) < 0.01
    profile = tmp_path / "p.json"
    r = run(CALIBRATE, "import-nccl-tests", str(log), "--system", "dgx-h100", "--out", str(profile))
    assert r.returncode == 0, r.stderr
    assert "all_reduce on 8 ranks" in r.stdout


def test_run_writes_csv_json_and_a_plot(tmp_path):
    csv, js = tmp_path / "t.csv", tmp_path / "t.json"
    r = run(BIN, "run", os.path.join(ROOT, "scenarios", "llama3-70b-h100.yaml"), "--csv", str(csv), "--json-out", str(js))
    assert r.returncode == 0, r.stderr
    header = csv.read_text().splitlines()[0].split(",")
    assert "tokens_per_s" in header and "breakdown_s.compute" in header
    assert json.loads(js.read_text())["plan"]["tp"] == 8
    png = tmp_path / "t.png"
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "foresight", "run", os.path.join(ROOT, "scenarios", "llama3-70b-h100.yaml"),
                        "--plot", str(png)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert png.stat().st_size > 1000


def test_a_scenario_can_come_from_standard_input_bounded_like_a_file():
    with open(os.path.join(ROOT, "scenarios", "nccl-allreduce-dgx-h100.yaml")) as f:
        text = f.read()
    r = subprocess.run([BIN, "run", "-", "--json", "--set", "fidelity=analytical"], input=text,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["collectives"]
    r = subprocess.run([BIN, "run", "-"], input="name: x\nnodes: [\n", capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("error: <stdin>:3:1: YAML syntax error")
    r = subprocess.run([BIN, "run", "-"], input="a" * (65 << 20), capture_output=True, text=True)
    assert r.returncode == 2 and "<stdin>: input is limited to 64 MiB" in r.stderr


def test_output_files_that_cannot_be_written_are_errors():
    # /dev/full accepts the open and fails the write: small outputs sit in a buffer until flushed.
    llama = os.path.join(ROOT, "scenarios", "llama3-70b-h100.yaml")
    for flag, what in (("--csv", "error while writing the CSV file"), ("--json-out", "cannot write the JSON file"),
                       ("--trace", "writing the trace file failed")):
        r = run(BIN, "run", llama, flag, "/dev/full")
        assert r.returncode == 2 and what in r.stderr, (flag, r.stderr)


def test_set_mistakes_are_blamed_on_the_set_argument():
    for arg, what in (("cluster.=4", "error: --set: 'cluster.': empty component in key path"),
                      ("cluster.nodes=", "error: --set cluster.nodes: 'cluster.nodes': a value is required after '='"),
                      ("nonexistent.key=1", "error: --set nonexistent.key: 'nonexistent': unknown key"),
                      ("name=\"unclosed", "error: --set name:1:10: YAML syntax error")):
        r = run(BIN, "run", "--set", arg)
        assert r.returncode == 2 and r.stderr.startswith(what), (arg, r.stderr)
