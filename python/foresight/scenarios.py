"""The scenarios Foresight ships, wherever the package is installed.

    fs.scenarios.names()                      # ['gpt3-175b-1024-a100', 'llama3-70b-h100', ...]
    fs.run(fs.scenarios.path("llama3-70b-h100"))
"""
import os

__all__ = ["directory", "names", "path"]


def directory():
    """The shipped scenarios directory: package data when installed, the source tree's otherwise."""
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(here, "scenarios"), os.path.join(here, "..", "..", "scenarios")):
        if os.path.isdir(d):
            return os.path.normpath(d)
    from . import _foresight

    src = getattr(_foresight, "source_dir", lambda: "")()
    if src and os.path.isdir(os.path.join(src, "scenarios")):
        return os.path.join(src, "scenarios")
    raise FileNotFoundError("no shipped scenarios found next to the foresight package")


def names():
    """Names of the shipped scenarios (validation/ ones as validation/<name>)."""
    d = directory()
    out = []
    for root, _, files in os.walk(d):
        for f in files:
            if f.endswith(".yaml") and "catalogs" not in root:
                rel = os.path.relpath(os.path.join(root, f), d)
                out.append(rel[:-5])
    return sorted(out)


def path(name):
    """The file of a shipped scenario, by name ("llama3-70b-h100", "validation/megatron-sc21-76.1b")
    or by its repository path ("scenarios/llama3-70b-h100.yaml")."""
    n = name[len("scenarios/"):] if name.startswith("scenarios/") else name
    n = n[:-5] if n.endswith(".yaml") else n
    p = os.path.join(directory(), n + ".yaml")
    if not os.path.isfile(p):
        raise FileNotFoundError(f"no shipped scenario '{name}'; have: {', '.join(names())}")
    return p
