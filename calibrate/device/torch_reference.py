"""Reference timings through PyTorch on the same GPU as a calibration run (run by
calibrate/device/first_run.sh on a lent GPU machine; PyTorch is on that machine, not a dependency
of Foresight). It answers "what do the framework's own kernels do on these shapes" next to what our
harness measured: cuBLAS bf16/fp8 GEMM at the shapes of validation/gemm_h100.csv, scaled dot-product
attention (flash and cuDNN backends) at FlashAttention-3's published shape, and a device copy.
Timed with triton.testing.do_bench (CUDA events, L2 cleared between runs, median)."""
import json
import sys

import torch
import triton.testing as tt


def bench(fn):
    return tt.do_bench(fn, warmup=25, rep=150, return_mode="median") * 1e-3  # seconds


def main(out_path):
    rows = []
    dev = torch.device("cuda")
    torch.manual_seed(0)
    gemm_shapes = [("bf16", 2048, 2048, 13312), ("bf16", 8192, 8192, 8192), ("bf16", 4096, 4096, 4096),
                   ("fp8_e4m3", 1024, 9216, 14336), ("fp8_e4m3", 1024, 1024, 1024), ("fp8_e4m3", 2048, 2048, 2048),
                   ("fp8_e4m3", 4096, 4096, 4096), ("fp8_e4m3", 8192, 8192, 8192), ("fp8_e4m3", 16384, 16384, 16384),
                   ("fp8_e4m3", 1024, 2145, 1024), ("fp8_e4m3", 6144, 12288, 12288)]
    for dt, m, n, k in gemm_shapes:
        try:
            # Random normal data, never zeros (zeros run faster on Hopper than real data).
            a = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
            b = torch.randn(n, k, device=dev, dtype=torch.bfloat16)
            if dt == "bf16":
                fn = lambda: torch.matmul(a, b.t())
            else:
                a8, b8 = a.to(torch.float8_e4m3fn), b.to(torch.float8_e4m3fn)
                one = torch.ones((), device=dev)
                fn = lambda: torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
            t = bench(fn)
            rows.append({"op": "gemm", "dtype": dt, "m": m, "n": n, "k": k, "time_s": t, "tflops": 2 * m * n * k / t / 1e12})
        except Exception as e:  # one shape the library declines must not lose the others
            rows.append({"op": "gemm", "dtype": dt, "m": m, "n": n, "k": k, "error": str(e)[:200]})
        print(rows[-1], flush=True)
    from torch.nn.attention import SDPBackend, sdpa_kernel
    b, h, s, d = 4, 16, 8448, 128
    q, k, v = (torch.randn(b, h, s, d, device=dev, dtype=torch.float16) for _ in range(3))
    flops = 4 * b * h * s * s * d
    for name, backend in [("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                          ("efficient", SDPBackend.EFFICIENT_ATTENTION)]:
        try:
            with sdpa_kernel(backend):
                t = bench(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v))
            rows.append({"op": "attention", "backend": name, "batch": b, "heads": h, "seq": s, "head_dim": d,
                         "dtype": "fp16", "time_s": t, "tflops": flops / t / 1e12})
        except Exception as e:
            rows.append({"op": "attention", "backend": name, "error": str(e)[:200]})
        print(rows[-1], flush=True)
    x = torch.randn(1 << 30, device=dev, dtype=torch.bfloat16)  # 2 GiB, far past the 60 MB L2
    y = torch.empty_like(x)
    t = bench(lambda: y.copy_(x))
    rows.append({"op": "copy", "bytes_moved": 2 * x.numel() * 2, "time_s": t, "GBps": 2 * x.numel() * 2 / t / 1e9})
    print(rows[-1], flush=True)
    meta = {"torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "gpu": torch.cuda.get_device_name(0)}
    with open(out_path, "w") as f:
        json.dump({"schema": "foresight-torch-reference/1", "meta": meta, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
