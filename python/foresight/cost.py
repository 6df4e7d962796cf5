"""Single-operation costs, vectorised over a table of shapes.

    import foresight.cost as fc
    fc.gemm(m=8192, n=8192, k=8192, gpu="h100-sxm-80gb")                  # one row
    fc.gemm(shapes_df, gpu="h200-sxm-141gb", calibration="trtllm")         # a row per shape
    fc.attention(seq_q=4096, heads=32, kv_heads=8, head_dim=128, gpu="h100-sxm-80gb")
    fc.decode_attention(batch=64, context=4096, heads=8, kv_heads=1, head_dim=128, gpu="h100-sxm-80gb")
    fc.memory(bytes=1e9, gpu="h100-sxm-80gb")
    fc.collective(op="all_reduce", bytes=[2**20, 2**26], ranks=8, system="dgx-h100")

Each returns a pandas DataFrame: the shape columns, then `seconds`, the achieved rate (`tflops`,
`gbps` or `busbw_gbps`), `source` (the profile or "roofline") and `extrapolated` (the query lay
outside the measured region). `calibration` is auto | roofline | trtllm | vllm | sglang | a profile
file, as the scenario key; the frame's `attrs["calibration"]` says which profile answered.
"""
import json as _json

from . import _foresight, _paths

__all__ = ["gemm", "attention", "decode_attention", "memory", "collective"]

_KEYS = {
    "gemm": ["m", "n", "k", "batch", "dtype"],
    "attention": ["batch", "seq_q", "seq_kv", "heads", "kv_heads", "head_dim", "causal", "backward", "dtype"],
    "decode_attention": ["batch", "context", "heads", "kv_heads", "head_dim", "dtype", "kv_dtype"],
    "memory": ["op", "bytes", "flops"],
    "collective": ["op", "bytes", "ranks", "algorithm", "protocol"],
}


def _is_list(v):
    return hasattr(v, "__len__") and not isinstance(v, (str, bytes))


def _rows(op, shapes, columns):
    """Shape dicts from a DataFrame, a list of dicts, or keyword columns (scalars broadcast)."""
    import pandas as pd

    if shapes is not None and columns:
        raise ValueError(f"foresight.cost.{op}: give shapes or keyword columns, not both")
    if shapes is None:
        lengths = sorted({len(v) for v in columns.values() if _is_list(v)})
        if len(lengths) > 1:
            raise ValueError(f"foresight.cost.{op}: list arguments must have one length, got {lengths}")
        n = lengths[0] if lengths else 1
        shapes = pd.DataFrame({k: list(v) if _is_list(v) else [v] * n for k, v in columns.items()})
    frame = shapes if isinstance(shapes, pd.DataFrame) else pd.DataFrame(list(shapes))
    unknown = [c for c in frame.columns if c not in _KEYS[op]]
    if unknown:
        raise ValueError(f"foresight.cost.{op}: unknown column(s) {unknown}; expected some of {_KEYS[op]}")
    records = [{k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items() if v == v}  # NaN: not given
               for rec in frame.to_dict("records")]
    return frame, records


def _query(op, shapes, gpu="", system="", calibration="auto", catalog=None, **columns):
    import pandas as pd

    frame, records = _rows(op, shapes, columns)
    doc = _json.loads(_foresight.cost_json(op, _json.dumps(records), gpu=gpu, system=system,
                                           calibration=str(calibration), catalog=_paths(catalog)))
    results = []
    for r in doc["results"]:
        row = {k: v for k, v in r.items() if k != "measured"}
        if "measured" in r:
            row.update({"measured_seconds": r["measured"]["seconds"], "measured_busbw_gbps": r["measured"]["busbw_gbps"],
                        "measured_source": r["measured"]["source"], "measured_extrapolated": r["measured"]["extrapolated"]})
        results.append(row)
    out = pd.concat([frame.reset_index(drop=True), pd.DataFrame(results)], axis=1)
    out.attrs["calibration"] = doc["calibration"]
    return out


def gemm(shapes=None, *, gpu, calibration="auto", catalog=None, **columns):
    """C[m,n] = A[m,k] B[k,n] (columns m, n, k, batch=1, dtype="bf16")."""
    return _query("gemm", shapes, gpu=gpu, calibration=calibration, catalog=catalog, **columns)


def attention(shapes=None, *, gpu, calibration="auto", catalog=None, **columns):
    """Fused attention (columns seq_q, heads, head_dim, batch=1, seq_kv=seq_q, kv_heads=heads,
    causal=True, backward=False, dtype="bf16")."""
    return _query("attention", shapes, gpu=gpu, calibration=calibration, catalog=catalog, **columns)


def decode_attention(shapes=None, *, gpu, calibration="auto", catalog=None, **columns):
    """One decode step over `batch` sequences of `context` tokens (columns batch, context, heads,
    head_dim, kv_heads=heads, kv_dtype="bf16")."""
    return _query("decode_attention", shapes, gpu=gpu, calibration=calibration, catalog=catalog, **columns)


def memory(shapes=None, *, gpu, calibration="auto", catalog=None, **columns):
    """A memory-bound op (columns bytes, flops=0, op="copy")."""
    return _query("memory", shapes, gpu=gpu, calibration=calibration, catalog=catalog, **columns)


def collective(shapes=None, *, system, calibration="auto", catalog=None, **columns):
    """One collective over the first `ranks` GPUs of `system` (columns op="all_reduce", bytes, ranks):
    the simulator's NCCL model, and the profile's measured time where it covers the communicator."""
    return _query("collective", shapes, system=system, calibration=calibration, catalog=catalog, **columns)
