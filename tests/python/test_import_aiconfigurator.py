"""The AIConfigurator importer on small Parquet databases written here: what it keeps, that the profile
it becomes answers with the measured values, and that bad tables are reported by file and column."""
import json
import math
import os
import subprocess
import sys

import pandas as pd
import pytest

from foresight import import_aiconfigurator as aic

BIN = os.environ["FORESIGHT_BIN"]
CALIBRATE = os.path.join(os.path.dirname(BIN), "foresight-calibrate")


def gemm_ms(m, n, k):
    # A known law: 10 us floor plus 2mnk FLOPs at 500 TFLOP/s (exactly interpolable in log-log only
    # where one term dominates; the checks below use grid points and the compute-bound corner).
    return 0.01 + 2.0 * m * n * k / 500e12 * 1e3


def write_db(root, gemm=None):
    base = root / "systems" / "data" / "h100_sxm"
    (base / "gemm" / "vllm" / "1.0").mkdir(parents=True)
    (base / "attention" / "vllm" / "1.0").mkdir(parents=True)
    (base / "comm" / "nccl" / "2.0").mkdir(parents=True)
    if gemm is None:
        rows = [{"gemm_dtype": d, "m": m, "n": n, "k": k, "latency": gemm_ms(m, n, k) * (0.5 if d == "fp8" else 1),
                 "kernel_source": "torch.nn.functional.linear"}
                for d in ("bfloat16", "fp8") for m in (1, 16, 256, 4096) for n in (1024, 8192) for k in (1024, 8192)]
        gemm = pd.DataFrame(rows)
    gemm.to_parquet(base / "gemm" / "vllm" / "1.0" / "gemm_perf.parquet")
    ctx = [{"batch_size": b, "isl": s, "num_heads": 8, "num_key_value_heads": 1, "head_dim": 128,
            "kv_cache_dtype": "bfloat16", "latency": 0.005 + b * s * s * 1e-9, "kernel_source": "fa3"}
           for b in (1, 4) for s in (128, 1024, 8192)]
    pd.DataFrame(ctx).to_parquet(base / "attention" / "vllm" / "1.0" / "context_attention_perf.parquet")
    gen = [{"batch_size": b, "step": s, "num_heads": 8, "num_key_value_heads": 1, "head_dim": 128,
            "kv_cache_dtype": "bfloat16", "latency": 0.004 + b * s * 1e-7, "kernel_source": "fa3"}
           for b in (1, 64) for s in (127, 4095)]
    pd.DataFrame(gen).to_parquet(base / "attention" / "vllm" / "1.0" / "generation_attention_perf.parquet")
    nccl = [{"op_name": "all_reduce", "num_gpus": 8, "message_size": e, "nccl_dtype": "bfloat16",
             "latency": (0.02 + 2 * e / 200e9 * 1e3)} for e in (2 ** i for i in range(10, 28, 2))]
    pd.DataFrame(nccl).to_parquet(base / "comm" / "nccl" / "2.0" / "nccl_perf.parquet")


def build(root, **kw):
    args = type("A", (), {"system": "h100_sxm", "framework": "vllm", "version": "", "root": str(root), **kw})
    return aic.build(args)


def test_tables_keep_the_measured_grid(tmp_path):
    write_db(tmp_path)
    doc = build(tmp_path)
    assert doc["schema"] == "foresight-tables/1"
    gemm = {t["dtype"]: t for t in doc["tables"] if t["op"] == "gemm"}
    assert set(gemm) == {"bf16", "fp8"}
    t = gemm["bf16"]
    assert t["axes"] == ["m", "n", "k"] and t["values"] == [[1, 16, 256, 4096], [1024, 8192], [1024, 8192]]
    # Row-major over (m, n, k): the last cell is the largest shape.
    assert t["latency_ms"][-1] == pytest.approx(gemm_ms(4096, 8192, 8192), rel=1e-3)
    att = [t for t in doc["tables"] if t["op"] == "attention"][0]
    assert att["keys"] == {"heads": 8, "kv_heads": 1, "head_dim": 128} and att["axes"] == ["batch", "sequence"]
    dec = [t for t in doc["tables"] if t["op"] == "decode_attention"][0]
    assert dec["axes"] == ["batch", "context"] and dec["values"][1] == [127, 4095]
    (coll,) = doc["collectives"]
    assert coll["op"] == "all_reduce" and coll["ranks"] == 8
    assert coll["points"][0][0] == 1024 * 2  # message_size counts bf16 elements


def test_profile_answers_with_the_measured_values(tmp_path):
    write_db(tmp_path / "db")
    tables = tmp_path / "tables.json"
    tables.write_text(json.dumps(build(tmp_path / "db")))
    profile = tmp_path / "p.json.gz"
    r = subprocess.run([CALIBRATE, "import-tables", str(tables), "--gpu", "h100-sxm-80gb", "--out", str(profile)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "gemm bf16" in r.stdout
    # The alpha-beta fit recovers the line the collective points were drawn from.
    assert "alpha 20 us, beta 200 GB/s" in r.stdout
    r = subprocess.run([BIN, "cost", "gemm", "--gpu", "h100-sxm-80gb", "--m", "4096", "--n", "8192", "--k", "8192",
                        "--profile", str(profile), "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["seconds"] == pytest.approx(gemm_ms(4096, 8192, 8192) * 1e-3, rel=1e-3)
    assert out["source"].startswith("profile:") and not out["extrapolated"]


def test_missing_column_is_named_with_its_file(tmp_path):
    write_db(tmp_path, gemm=pd.DataFrame([{"gemm_dtype": "bfloat16", "m": 1, "n": 2, "k": 3}]))
    with pytest.raises(aic.ImportFailure, match=r"gemm_perf.parquet: missing column 'latency'"):
        build(tmp_path)


def test_bad_value_is_named_with_its_row_and_column(tmp_path):
    df = pd.DataFrame([{"gemm_dtype": "bfloat16", "m": 1, "n": 2, "k": 3, "latency": 0.1},
                       {"gemm_dtype": "bfloat16", "m": 2, "n": 2, "k": 3, "latency": -1.0}])
    write_db(tmp_path, gemm=df)
    with pytest.raises(aic.ImportFailure, match=r"gemm_perf.parquet: row 1, column 'latency': -1.0"):
        build(tmp_path)


def test_unknown_system_and_version_are_errors(tmp_path):
    write_db(tmp_path)
    with pytest.raises(aic.ImportFailure, match="no measured data for system 'b200_sxm'; have: h100_sxm"):
        build(tmp_path, system="b200_sxm")
    with pytest.raises(aic.ImportFailure, match="no gemm or attention tables for h100_sxm/vllm 9.9"):
        build(tmp_path, version="9.9")


def test_command_line_error_is_one_line(tmp_path):
    (tmp_path / "systems" / "data").mkdir(parents=True)
    r = subprocess.run([sys.executable, aic.__file__, "--system", "x", "--root", str(tmp_path), "--out",
                        str(tmp_path / "o.json")], capture_output=True, text=True)
    assert r.returncode != 0 and r.stderr.strip().count("\n") == 0
    assert "import-aiconfigurator: no measured data for system 'x'" in r.stderr


def moe_ms(tokens, tp, ep):
    # A known law for the test: 20 us plus 1 us per token for each expert-parallel share.
    return 0.02 + tokens * 1e-3 / (tp * ep)


def test_moe_tables_keep_balanced_routing_per_shape_and_split(tmp_path):
    write_db(tmp_path)
    folder = tmp_path / "systems" / "data" / "h100_sxm" / "moe" / "vllm" / "1.0"
    folder.mkdir(parents=True)
    rows = [{"moe_dtype": "fp8_block", "num_tokens": t, "hidden_size": 4096, "inter_size": 1536, "topk": 8,
             "num_experts": 128, "moe_tp_size": tp, "moe_ep_size": ep, "distribution": dist,
             "latency": moe_ms(t, tp, ep) * (3 if dist != "balanced" else 1), "kernel_source": "fused_moe"}
            for t in (1, 16, 256, 4096) for tp, ep in ((1, 4), (4, 1)) for dist in ("balanced", "power_law_1.2")]
    pd.DataFrame(rows).to_parquet(folder / "moe_perf.parquet")
    doc = build(tmp_path)
    moe = [t for t in doc["tables"] if t["op"] == "moe"]
    assert len(moe) == 2  # one per (moe_tp, moe_ep); skewed distributions are left out
    t = {(x["keys"]["moe_tp"], x["keys"]["moe_ep"]): x for x in moe}[(1, 4)]
    assert t["dtype"] == "fp8_block" and t["axes"] == ["tokens"] and t["values"] == [[1, 16, 256, 4096]]
    assert t["keys"] == {"hidden": 4096, "inter": 1536, "top_k": 8, "experts": 128, "moe_tp": 1, "moe_ep": 4}
    assert t["latency_ms"] == [pytest.approx(moe_ms(n, 1, 4), rel=1e-3) for n in (1, 16, 256, 4096)]
    assert doc["provenance"]["tables"]["moe"]["version"] == "1.0"
