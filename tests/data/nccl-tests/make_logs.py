#!/usr/bin/env python3
"""Writes the nccl-tests logs used by tests/unit/calibrate, in nccl-tests' exact stdout format.

all_reduce_perf_h100_8gpu.log: the busbw values of ../validation/nccl_allreduce_h100_1node.csv
(Azure ND H100 v5, NCCL 2.18.5), turned into times with busbw = algbw * 2(n-1)/n and algbw = bytes / time.
Only the CSV's sizes are listed. In-place times are the out-of-place times +1 % (nccl-tests prints both).
all_gather_perf_h100_8gpu.log: synthetic (t = 18 us + bytes / 330 GB/s * (1 + 64 KiB / bytes)^0.1), run
with validation off (#wrong = N/A), an older nccl-tests without the version line, and NCCL INFO noise.
"""
import csv, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
N = 8


def tstr(us):  # nccl-tests' time formatting
    if us >= 10000.0:
        return "%7.0f" % us
    if us >= 100.0:
        return "%7.1f" % us
    return "%7.2f" % us


def header(lines, host, validation):
    lines.append("# nThread 1 nGpus 8 minBytes 1024 maxBytes 8589934592 step: 2(factor) warmup iters: 5 "
                 "iters: 20 agg iters: 1 validation: %d graph: 0" % validation)
    lines.append("#")
    lines.append("# Using devices")
    for r in range(N):
        lines.append("#  Rank %2d Group  0 Pid  %5d on %10s device %2d [0x%02x] NVIDIA H100 80GB HBM3"
                     % (r, 41230 + r, host, r, [0x18, 0x2a, 0x3a, 0x5d, 0x9a, 0xab, 0xba, 0xdb][r]))
    lines.append("#")
    lines.append("#                                                              out-of-place                       in-place          ")
    lines.append("#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong")
    lines.append("#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)       ")


def row(size, count, typ, redop, root, t_oop, t_ip, factor, wrong):
    out = "%12d  %12d  %8s  %6s  %6d" % (size, count, typ, redop, root)
    bws = []
    for t in (t_oop, t_ip):
        alg = size / (t * 1e-6) / 1e9
        bus = alg * factor
        bws.append(bus)
        out += "  %7s  %6.2f  %6.2f  %5s" % (tstr(t), alg, bus, wrong)
    return out, bws


def all_reduce(csv_path):
    lines = ["# nccl-tests version 2.13.8 nccl-headers=21805 nccl-library=21805",
             "# Collective test starting: all_reduce_perf"]
    header(lines, "ndv5-h100-0", 1)
    factor = 2.0 * (N - 1) / N
    bws = []
    with open(csv_path) as f:
        for rec in csv.DictReader(l for l in f if not l.startswith("#")):
            size, busbw = int(rec["bytes"]), float(rec["busbw_GBps"])
            t = size / (busbw / factor * 1e9) * 1e6
            # Print the time as nccl-tests would, then re-derive bandwidths from the printed time.
            t = float(tstr(t))
            r, b = row(size, size // 4, "float", "sum", -1, t, float(tstr(t * 1.01)), factor, "0")
            lines.append(r)
            bws += b
    lines.append("# Out of bounds values : 0 OK")
    lines.append("# Avg bus bandwidth    : %g " % (sum(bws) / len(bws)))
    lines.append("#")
    return lines


def all_gather():
    lines = []
    header(lines, "ndv5-h100-1", 0)
    lines.insert(3, "ndv5-h100-1:41230:41230 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.4<0>")
    factor = (N - 1) / N
    bws = []
    size = 1024
    while size <= 8 * 1024 ** 3:
        t = 18.0 + size / 330e9 * 1e6 * (1 + 65536 / size) ** 0.1
        t = float(tstr(t))
        r, b = row(size, size // 4 // N, "float", "none", -1, t, float(tstr(t * 0.995)), factor, "N/A")
        lines.append(r)
        bws += b
        size *= 4
    lines.append("# Out of bounds values : 0 OK")
    lines.append("# Avg bus bandwidth    : %g " % (sum(bws) / len(bws)))
    lines.append("#")
    return lines


def main():
    csv_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../validation/nccl_allreduce_h100_1node.csv")
    ar = all_reduce(csv_path)
    with open(os.path.join(HERE, "all_reduce_perf_h100_8gpu.log"), "w") as f:
        f.write("\n".join(ar) + "\n")
    with open(os.path.join(HERE, "all_gather_perf_h100_8gpu.log"), "w") as f:
        f.write("\n".join(all_gather()) + "\n")
    # A log cut off mid-row (a killed job): the importer must name the line, not crash.
    bad = ar[:22] + [ar[22][:40]]
    with open(os.path.join(HERE, "malformed_truncated.log"), "w") as f:
        f.write("\n".join(bad) + "\n")


main()
