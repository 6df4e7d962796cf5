"""Burst vs sustained GEMM throughput on one GPU, with the SM clock and power read alongside
(NVML through nvidia-smi; nothing is changed on the GPU). Our H200 sweep ran its GEMM section at
1215-1590 MHz under the 700 W limit; NVIDIA's measured database was collected with locked clocks.
This separates the two: each shape is timed after 3 s idle (burst) and after 20 s of back-to-back
GEMMs (sustained). Run on a lent GPU: python3 calibrate/device/clock_effect.py OUT.json"""
import json
import subprocess
import sys
import time

import torch


def smi():
    q = subprocess.run(["nvidia-smi", "--query-gpu=clocks.sm,power.draw,temperature.gpu", "--format=csv,noheader,nounits"],
                       capture_output=True, text=True).stdout.strip().split(",")
    return {"sm_mhz": float(q[0]), "power_w": float(q[1]), "temp_c": float(q[2])}


def timed(fn, reps):
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / reps * 1e-3


def main(out):
    dev = torch.device("cuda")
    rows = []
    for dt, m, n, k in [("bf16", 8192, 8192, 8192), ("bf16", 2048, 2048, 13312), ("fp8", 8192, 8192, 8192)]:
        a = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
        b = torch.randn(n, k, device=dev, dtype=torch.bfloat16)
        if dt == "bf16":
            fn = lambda: torch.matmul(a, b.t())
        else:
            a8, b8, one = a.to(torch.float8_e4m3fn), b.to(torch.float8_e4m3fn), torch.ones((), device=dev)
            fn = lambda: torch._scaled_mm(a8, b8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
        fn()
        torch.cuda.synchronize()
        flops = 2.0 * m * n * k
        time.sleep(3)  # idle: the clock recovers
        t_warm = time.time() + 0.1
        while time.time() < t_warm:  # 100 ms to ramp up from idle, far too short to reach the power limit
            timed(fn, 2)
        burst = timed(fn, 10)
        clk_burst = smi()
        t_end = time.time() + 20
        while time.time() < t_end:  # sustained load
            timed(fn, 20)
        sustained = timed(fn, 20)
        clk_sust = smi()
        rows.append({"dtype": dt, "m": m, "n": n, "k": k, "burst_tflops": flops / burst / 1e12,
                     "sustained_tflops": flops / sustained / 1e12, "burst_state": clk_burst, "sustained_state": clk_sust})
        print(json.dumps(rows[-1]), flush=True)
    with open(out, "w") as f:
        json.dump({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
