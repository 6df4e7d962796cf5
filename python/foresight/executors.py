"""Running many simulation points: serially, on a local process pool, or on Dask, with a progress bar,
a resumable store, and Ctrl-C keeping what finished.

Processes, not threads: the flow fidelity's SimGrid backend forks a child per simulation, and a
process pool also scales past one interpreter. `executor` is "serial", "process" (default), "dask"
(starts a LocalCluster) or a `distributed.Client` you pass in, which is how a sweep scales out to
many machines.
"""
import json
import os

from .store import ResultStore, file_hash, point_key


def _flatten(prefix, value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    elif not isinstance(value, list):
        out[prefix] = value


def provenance(doc, point):
    """The columns every result row carries about what produced it."""
    from . import _foresight

    cal = doc.get("provenance", {}).get("calibration", {})
    return {"foresight_version": _foresight.version(), "git_revision": _foresight.git_revision(),
            "scenario_hash": point["scenario_hash"], "overrides": json.dumps(point["overrides"], sort_keys=True),
            "fidelity": doc.get("fidelity"), "calibration": cal.get("profile", cal.get("source", ""))}


def rows_of(doc, point):
    """Flat rows of one result: one per collective (benches), else one per run, with the plan and
    provenance columns."""
    base = dict(point.get("tags", {}))
    plan = {}
    _flatten("", doc.get("plan", {}), plan)
    base.update({f"plan.{k}": v for k, v in plan.items()})
    base.update(provenance(doc, point))
    if "collectives" in doc:
        return [dict(base, **row) for row in doc["collectives"]]
    flat = {}
    for section in ("training", "serving", "goodput"):
        if section in doc:
            _flatten("", {k: v for k, v in doc[section].items() if k not in ("trace_events",)}, flat)
    return [dict(base, **flat)]


def evaluate(point):
    """Runs one point; an invalid point becomes a row with its one-line `error` instead of raising."""
    from . import InputError, run

    try:
        doc = run(point["scenario"], set=point["overrides"], profile=point.get("profile", ""),
                  catalog=point.get("catalog"))
    except InputError as e:
        return [dict(point.get("tags", {}), error=str(e), scenario_hash=point["scenario_hash"],
                     overrides=json.dumps(point["overrides"], sort_keys=True))]
    except Exception as e:  # a bug, not bad input: keep the sweep going, say so in the row
        return [dict(point.get("tags", {}), error=f"internal error: {type(e).__name__}: {e}",
                     scenario_hash=point["scenario_hash"], overrides=json.dumps(point["overrides"], sort_keys=True))]
    return rows_of(doc, point)


def make_point(scenario, overrides, profile="", catalog=None, tags=None, scenario_hash=None):
    h = scenario_hash or file_hash(scenario)
    return {"scenario": str(scenario), "overrides": dict(overrides), "profile": str(profile or ""),
            "catalog": catalog, "tags": dict(tags or {}), "scenario_hash": h, "key": point_key(h, overrides)}


class TaskPool:
    """One executor kept open across several rounds of work (a planner's stages reuse its worker
    processes instead of starting a pool per round). `map(fn, items, on_done)` runs fn over items
    and returns the results in item order; `on_done(item, result)` sees each as it finishes (a store
    commits there, so Ctrl-C keeps what finished). fn must be importable (a module-level function)."""

    def __init__(self, executor="process", workers=None):
        self.executor, self.workers = executor, workers
        self._pool = self._client = self._own = None
        if executor not in ("serial", "process", "dask") and not (hasattr(executor, "map") and hasattr(executor, "submit")):
            raise ValueError(f"executor must be 'serial', 'process', 'dask' or a distributed.Client, not {executor!r}")

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        self.close(wait=kind is None)  # interrupted: do not wait for the running points

    def close(self, wait=True):
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None
        if self._own is not None:
            self._client.close()
            self._own.close()
            self._client = self._own = None

    def map(self, fn, items, on_done=None, progress=True, desc="points"):
        from tqdm.auto import tqdm

        items = list(items)
        results = [None] * len(items)
        bar = tqdm(total=len(items), desc=desc, disable=not progress or not items, unit="pt")

        def finished(i, result):
            results[i] = result
            if on_done is not None:
                on_done(items[i], result)
            bar.update()

        try:
            if self.executor == "serial" or len(items) <= 1:
                for i, item in enumerate(items):
                    finished(i, fn(item))
            elif self.executor == "process":
                from concurrent.futures import as_completed

                futures = {self._process_pool().submit(fn, item): i for i, item in enumerate(items)}
                try:
                    for f in as_completed(futures):
                        finished(futures[f], f.result())
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
            else:
                from distributed import as_completed

                if self._client is None:
                    self._client, self._own = _dask_client(self.executor, self.workers)
                futures = self._client.map(fn, items, pure=False)
                index = {f.key: i for i, f in enumerate(futures)}
                try:
                    for f in as_completed(futures):
                        finished(index[f.key], f.result())
                except BaseException:
                    self._client.cancel(futures)
                    raise
        finally:
            bar.close()
        return results

    def _process_pool(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: the flow backend's SimGrid state must not be inherited half-made.
            self._pool = ProcessPoolExecutor(max_workers=self.workers or os.cpu_count() or 1,
                                             mp_context=multiprocessing.get_context("spawn"))
        return self._pool


def run_points(points, executor="process", workers=None, store=None, progress=True, desc="points"):
    """Evaluates `points` (from make_point) and returns their rows in point order. Points already in
    `store` (a path or ResultStore) are not run again; each finished point is committed at once."""
    st = ResultStore(store) if isinstance(store, (str, os.PathLike)) else store
    done = ({p["key"] for p in points} & st.keys()) if st is not None else set()
    todo = [p for p in points if p["key"] not in done]
    results = {}

    def finished(point, rows):
        results[point["key"]] = rows
        if st is not None:
            st.add(point["key"], rows)

    try:
        with TaskPool(executor, workers) as pool:
            pool.map(evaluate, todo, on_done=finished, progress=progress, desc=desc)
    finally:
        if st is not None:
            st.to_parquet()
    if st is not None:
        stored_rows = dict(_stored_by_key(st, [p["key"] for p in points if p["key"] not in results]))
        results.update(stored_rows)
        if isinstance(store, (str, os.PathLike)):
            st.close()
    return [row for p in points for row in results.get(p["key"], [])]


def _stored_by_key(st, keys):
    wanted = set(keys)
    for (key, row) in st._db.execute("SELECT key, row FROM points ORDER BY seq"):
        if key in wanted:
            yield key, json.loads(row)


def _dask_client(executor, workers):
    """(client, cluster to close or None): a Client passed in, or a LocalCluster of processes."""
    if executor == "dask":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    if hasattr(executor, "map") and hasattr(executor, "submit"):
        return executor, None
    raise ValueError(f"executor must be 'serial', 'process', 'dask' or a distributed.Client, not {executor!r}")
