"""The `foresight` console command of the Python package: `search` and `plan` are handled here (they
are Python: executors, stores, plots), everything else (`run`, `cost`, `catalog`, `--version`) is the same
C++ command line as the `foresight` executable."""
import sys


def plot_result(doc, out):
    """Writes the picture that says most about a result: where a training iteration's time goes,
    a collective bench's bus bandwidth against size, or a serving run's latency CDFs."""
    import matplotlib

    matplotlib.use("Agg")
    from . import plot

    if "training" in doc:
        ax = plot.breakdown(doc)
    elif "collectives" in doc:
        import pandas as pd

        frame = pd.DataFrame(doc["collectives"])
        import matplotlib.pyplot as plt

        ax = plt.subplots(figsize=(7, 4))[1]
        for op, g in frame.groupby("op"):
            ax.plot(g["bytes"], g["busbw_GBps"], "-o", ms=3, label=op)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("bytes")
        ax.set_ylabel("busbw (GB/s)")
        ax.legend()
        ax.grid(alpha=0.3)
    elif "serving" in doc and "requests_file" in doc["serving"]:
        ax = plot.latency_cdf(doc)
    else:
        raise SystemExit("error: --plot: a serving run needs --requests FILE (per-request latencies) to plot")
    ax.set_title(doc.get("scenario", ""))
    ax.figure.savefig(out, bbox_inches="tight")
    print(f"plot: {out}")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "search":
        from .search import main as search_main

        return search_main(argv[1:])
    if argv and argv[0] == "plan":
        from .planner_cli import main as plan_main

        return plan_main(argv[1:])
    plot_out = None
    if argv and argv[0] == "run" and "--plot" in argv:
        i = argv.index("--plot")
        if i + 1 >= len(argv):
            print("error: --plot needs a file name (PNG or SVG)", file=sys.stderr)
            return 2
        plot_out = argv[i + 1]
        del argv[i:i + 2]
    from . import _foresight, _scenario_file

    if len(argv) > 1 and argv[0] == "run" and not argv[1].startswith("-"):
        argv[1] = _scenario_file(argv[1])  # shipped scenarios by name or repository path, from any directory
    sys.stdout.flush()
    if plot_out is None:
        return _foresight.cli_main(["foresight"] + argv)
    import json
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        rc = _foresight.cli_main(["foresight"] + argv + ["--json-out", tmp])
        if rc == 0:
            with open(tmp) as f:
                plot_result(json.load(f), plot_out)
        return rc
    finally:
        os.remove(tmp)


if __name__ == "__main__":
    sys.exit(main())
