"""The `foresight` console command of the Python package: `search` is handled here (it is Python:
executors, stores, plots), everything else (`run`, `cost`, `catalog`, `--version`) is the same
C++ command line as the `foresight` executable."""
import sys


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "search":
        from .search import main as search_main

        return search_main(argv[1:])
    from . import _foresight, _scenario_file

    if len(argv) > 1 and argv[0] == "run" and not argv[1].startswith("-"):
        argv[1] = _scenario_file(argv[1])  # shipped scenarios by name or repository path, from any directory
    sys.stdout.flush()
    return _foresight.cli_main(["foresight"] + argv)


if __name__ == "__main__":
    sys.exit(main())
