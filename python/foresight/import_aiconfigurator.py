"""Turns NVIDIA AIConfigurator's measured kernel database (the PyPI wheel aiconfigurator-core,
Apache-2.0) into the tables file `foresight-calibrate import-tables` fits into a Foresight profile.

    python -m foresight.import_aiconfigurator --system h100_sxm --framework vllm --out tables.json
    (or: foresight-calibrate import-aiconfigurator --system h100_sxm --framework vllm --out profile.json.gz)

Per (system, framework, version) it keeps, as measured:
  gemm              latency over the (m, n, k) grid, per dtype (the fastest kernel per shape)
  attention         context (prefill) attention over (batch, sequence), per (heads, kv_heads,
                    head_dim) and KV dtype: causal, the sequence attending to itself
  decode_attention  generation attention over (batch, context), one query token per sequence
  moe               a mixture-of-experts layer's routed experts on one GPU over the tokens it
                    serves, per (hidden, inter, top_k, experts, moe_tp, moe_ep) and dtype, under
                    balanced routing (the database's "balanced" distribution)
  collectives       NCCL all_reduce / all_gather / reduce_scatter / all_to_all and the framework's
                    custom all-reduce, per GPU count, over message size (intra-node)
Latencies are stored in milliseconds with 4 significant digits; a grid cell that was not measured
is null. Provenance records the package, version, system, framework and version, and the kernel
sources and collection metadata of each table.
"""
import argparse
import json
import math
import os
import sys

DTYPES = {"bfloat16": "bf16", "float16": "fp16", "fp8": "fp8", "fp8_block": "fp8_block", "nvfp4": "fp4",
          "int8": "int8", "fp8_e4m3": "fp8"}
BYTES = {"bf16": 2, "fp16": 2, "fp8": 1, "fp8_block": 1, "fp4": 0.5, "int8": 1, "fp32": 4}
NCCL_OPS = {"all_reduce": "all_reduce", "allreduce": "all_reduce", "all_gather": "all_gather",
            "allgather": "all_gather", "reduce_scatter": "reduce_scatter", "reducescatter": "reduce_scatter",
            "alltoall": "all_to_all", "all_to_all": "all_to_all"}


class ImportFailure(Exception):
    """Bad or missing input, reported as one line naming the file and the column."""


def fail(message):
    raise ImportFailure(message)


# The columns each table must have (AIConfigurator's schema as of aiconfigurator-core 0.12).
REQUIRED = {
    "gemm_perf.parquet": ["gemm_dtype", "m", "n", "k", "latency"],
    "context_attention_perf.parquet": ["batch_size", "isl", "num_heads", "num_key_value_heads", "head_dim", "latency"],
    "generation_attention_perf.parquet": ["batch_size", "step", "num_heads", "num_key_value_heads", "head_dim",
                                          "latency"],
    "nccl_perf.parquet": ["op_name", "num_gpus", "message_size", "latency", "nccl_dtype"],
    "custom_allreduce_perf.parquet": ["op_name", "num_gpus", "message_size", "latency", "allreduce_dtype"],
    "moe_perf.parquet": ["moe_dtype", "num_tokens", "hidden_size", "inter_size", "topk", "num_experts", "moe_tp_size",
                         "moe_ep_size", "distribution", "latency"],
}


def read_table(path):
    """The Parquet file with its required columns checked; numeric columns must be finite and positive."""
    import pandas as pd

    name = os.path.basename(path)
    try:
        df = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several types for a damaged or non-Parquet file
        fail(f"{path}: not a readable Parquet file ({type(e).__name__}: {str(e).splitlines()[0]})")
    missing = [c for c in REQUIRED.get(name, []) if c not in df.columns]
    if missing:
        fail(f"{path}: missing column {', '.join(repr(c) for c in missing)} (has {', '.join(map(str, df.columns))})")
    for c in REQUIRED.get(name, []):
        if c.endswith("dtype") or c == "op_name":
            continue
        col = pd.to_numeric(df[c], errors="coerce")
        bad = df.index[~(col > 0) | col.isna()]
        if c in ("latency", "message_size", "m", "n", "k", "batch_size", "num_heads", "num_key_value_heads",
                 "head_dim", "num_gpus", "isl") and len(bad):
            value = df[c].iloc[int(bad[0])]
            fail(f"{path}: row {int(bad[0])}, column '{c}': {value.item() if hasattr(value, 'item') else value!r} "
                 "is not a positive number")
    if "kernel_source" not in df.columns:
        df = df.assign(kernel_source="unknown")
    return df


def package_root(root=""):
    if root:
        if not os.path.isdir(os.path.join(root, "systems", "data")):
            fail(f"{root}: no systems/data directory (expected a tree laid out like aiconfigurator_core/)")
        return root, "local tree " + root
    try:
        import aiconfigurator_core
    except ImportError:
        fail("needs the aiconfigurator-core wheel (pip install aiconfigurator-core)")
    from importlib.metadata import version

    return os.path.dirname(aiconfigurator_core.__file__), version("aiconfigurator-core")


def current_version(root, system, framework):
    path = os.path.join(root, "systems", "query_versions.yaml")
    if not os.path.exists(path):
        return ""
    import yaml

    with open(path) as f:
        q = yaml.safe_load(f) or {}
    slot = ((q.get("overrides") or {}).get(system) or {}).get(framework) or (q.get("defaults") or {}).get(framework)
    return (slot or {}).get("current", "")


def meta(path):
    f = os.path.join(os.path.dirname(path), "collection_meta.yaml")
    if not os.path.exists(f):
        return {}
    import yaml

    with open(f) as fh:
        m = yaml.safe_load(fh) or {}
    return {k: m[k] for k in ("provenance", "runtime") if k in m}


def ms(v):
    return None if v is None or not math.isfinite(v) else float(f"{v:.4g}")


def grid(frame, axes, value="latency"):
    """Axis values and the row-major latency grid (null where not measured)."""
    values = [sorted(int(x) for x in frame[a].unique()) for a in axes]
    index = [{v: i for i, v in enumerate(vals)} for vals in values]
    flat = [None] * math.prod(len(v) for v in values)
    best = frame.groupby(axes)[value].min()
    for key, lat in best.items():
        key = key if isinstance(key, tuple) else (key,)
        pos = 0
        for d, k in enumerate(key):
            pos = pos * len(values[d]) + index[d][int(k)]
        flat[pos] = ms(float(lat))
    return values, flat


def gemm_tables(path, framework):
    df = read_table(path)
    out = []
    for dtype, g in df.groupby("gemm_dtype"):
        if dtype not in DTYPES:
            continue
        values, flat = grid(g, ["m", "n", "k"])
        out.append({"op": "gemm", "family": framework, "dtype": DTYPES[dtype], "axes": ["m", "n", "k"],
                    "values": values, "latency_ms": flat, "kernels": sorted(set(g["kernel_source"]))})
    return out


def attention_tables(path, framework, op, axis):
    df = read_table(path)
    if "window_size" in df:
        df = df[df["window_size"] == 0]
    if "beam_width" in df:
        df = df[df["beam_width"] == 1]
    col = "step" if op == "decode_attention" else "isl"
    df = df.rename(columns={"batch_size": "batch", col: axis})
    kv_col = "kv_cache_dtype" if "kv_cache_dtype" in df else None
    out = []
    keys = ["num_heads", "num_key_value_heads", "head_dim"] + ([kv_col] if kv_col else [])
    for key, g in df.groupby(keys):
        heads, kv_heads, head_dim = (int(k) for k in key[:3])
        kv = DTYPES.get(key[3], str(key[3])) if kv_col else "bf16"
        values, flat = grid(g, ["batch", axis])
        out.append({"op": op, "family": framework, "dtype": "bf16", "kv_dtype": kv,
                    "keys": {"heads": heads, "kv_heads": kv_heads, "head_dim": head_dim},
                    "axes": ["batch", axis], "values": values, "latency_ms": flat,
                    "kernels": sorted(set(g["kernel_source"]))})
    return out


def moe_tables(path, framework):
    df = read_table(path)
    df = df[df["distribution"] == "balanced"]
    out = []
    shape = ["moe_dtype", "hidden_size", "inter_size", "topk", "num_experts", "moe_tp_size", "moe_ep_size"]
    for key, g in df.groupby(shape):
        dtype = key[0]
        if dtype not in DTYPES:
            continue
        values, flat = grid(g, ["num_tokens"])
        hidden, inter, topk, experts, mtp, mep = (int(k) for k in key[1:])
        out.append({"op": "moe", "family": framework, "dtype": DTYPES[dtype],
                    "keys": {"hidden": hidden, "inter": inter, "top_k": topk, "experts": experts, "moe_tp": mtp,
                             "moe_ep": mep},
                    "axes": ["tokens"], "values": values, "latency_ms": flat,
                    "kernels": sorted(set(g["kernel_source"])) if "kernel_source" in g else []})
    return out


def collective_points(path, algorithm, dtype_col):
    df = read_table(path)
    out = []
    for (op, ranks), g in df.groupby(["op_name", "num_gpus"]):
        if str(op) not in NCCL_OPS:
            continue
        pts = []
        for r in g.itertuples():
            dt = DTYPES.get(str(getattr(r, dtype_col)), str(getattr(r, dtype_col)))
            size = BYTES.get(dt)
            if not size:
                continue
            pts.append([float(r.message_size) * size, float(r.latency) * 1e-3])  # message_size counts elements
        if pts:
            out.append({"op": NCCL_OPS[str(op)], "ranks": int(ranks), "algorithm": algorithm, "points": sorted(pts)})
    return out


def latest(dirs):
    def key(v):
        return [int(p) if p.isdigit() else p for p in v.replace("rc", ".").replace("post", ".").split(".")]

    return sorted(dirs, key=key)[-1] if dirs else None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--system", required=True, help="AIConfigurator system, e.g. h100_sxm")
    p.add_argument("--framework", default="trtllm", choices=["trtllm", "vllm", "sglang"])
    p.add_argument("--version", default="", help="framework version (default: the database's current one)")
    p.add_argument("--out", required=True, help="tables JSON to write")
    p.add_argument("--root", default="", help="a directory laid out like aiconfigurator_core/ (default: the wheel)")
    a = p.parse_args(argv)
    try:
        doc = build(a)
    except ImportFailure as e:
        sys.exit(f"import-aiconfigurator: {e}")
    with open(a.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"{a.out}: {len(doc['tables'])} tables, {len(doc['collectives'])} collective series from "
          f"{a.system}/{a.framework} {doc['provenance']['framework_version']}")


def build(a):
    """The foresight-tables/1 document for the parsed arguments."""
    root, pkg_version = package_root(a.root)
    data = os.path.join(root, "systems", "data", a.system)
    if not os.path.isdir(data):
        fail(f"no measured data for system '{a.system}'; have: {', '.join(sorted(os.listdir(os.path.dirname(data))))}")
    version = a.version or current_version(root, a.system, a.framework)
    if a.framework not in ("trtllm", "vllm", "sglang"):
        fail(f"--framework {a.framework}: expected trtllm, vllm or sglang")
    tables, sources = [], {}

    def family_path(family, name):
        # An asked-for version must exist; otherwise the current one, else the newest measured.
        folder = os.path.join(data, family, a.framework)
        candidates = [a.version] if a.version else [version, latest(os.listdir(folder)) if os.path.isdir(folder) else None]
        for v in candidates:
            if v and os.path.exists(os.path.join(data, family, a.framework, v, name)):
                return os.path.join(data, family, a.framework, v, name), v
        return None, None

    gemm, gv = family_path("gemm", "gemm_perf.parquet")
    if gemm:
        tables += gemm_tables(gemm, a.framework)
        sources["gemm"] = {"file": os.path.relpath(gemm, root), "version": gv, **meta(gemm)}
    for op, name, axis in (("attention", "context_attention_perf.parquet", "sequence"),
                           ("decode_attention", "generation_attention_perf.parquet", "context")):
        path, v = family_path("attention", name)
        if path:
            tables += attention_tables(path, a.framework, op, axis)
            sources[op] = {"file": os.path.relpath(path, root), "version": v, **meta(path)}
    moe, mv = family_path("moe", "moe_perf.parquet")
    if moe:
        tables += moe_tables(moe, a.framework)
        sources["moe"] = {"file": os.path.relpath(moe, root), "version": mv, **meta(moe)}
    collectives = []
    nccl_dir = os.path.join(data, "comm", "nccl")
    if os.path.isdir(nccl_dir):
        v = latest(os.listdir(nccl_dir))
        path = os.path.join(nccl_dir, v, "nccl_perf.parquet")
        if os.path.exists(path):
            collectives += collective_points(path, "auto", "nccl_dtype")
            sources["nccl"] = {"file": os.path.relpath(path, root), "version": v}
    custom, cv = family_path("comm", "custom_allreduce_perf.parquet")
    if custom:
        collectives += collective_points(custom, "custom", "allreduce_dtype")
        sources["custom_allreduce"] = {"file": os.path.relpath(custom, root), "version": cv}
    if not tables:
        fail(f"no gemm or attention tables for {a.system}/{a.framework} {a.version or version or '(any version)'}")
    return {"schema": "foresight-tables/1",
           "provenance": {"source": "NVIDIA AIConfigurator measured kernel database (aiconfigurator-core, Apache-2.0)",
                          "package_version": pkg_version, "system": a.system, "framework": a.framework,
                          "framework_version": version or sources.get("gemm", {}).get("version", ""),
                          "tables": sources,
                          "note": "clocks locked during collection (collection_meta.yaml)"},
           "tables": tables, "collectives": collectives}


if __name__ == "__main__":
    main()
