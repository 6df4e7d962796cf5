"""A resumable store of sweep/search results: every finished point is committed to SQLite as soon as
it finishes, keyed by the scenario's hash and the point's overrides, so a killed sweep re-run skips
what finished and never writes a point twice. `to_parquet` writes the rows for pandas/pyarrow users.

    store = ResultStore("runs/llama70b.parquet")   # keeps runs/llama70b.parquet.sqlite beside it
"""
import hashlib
import json
import os
import sqlite3


def point_key(scenario_hash, overrides):
    """The identity of one point: the scenario's content and the overrides applied to it."""
    text = json.dumps({"scenario": scenario_hash, "overrides": overrides}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def file_hash(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


class ResultStore:
    """Rows by point key. `path` ending in .sqlite is the store itself; any other path (e.g. .parquet)
    gets a sidecar `<path>.sqlite` and is (re)written by `to_parquet()`."""

    def __init__(self, path):
        self.path = str(path)
        self.db_path = self.path if self.path.endswith((".sqlite", ".db")) else self.path + ".sqlite"
        os.makedirs(os.path.dirname(os.path.abspath(self.db_path)), exist_ok=True)
        self._db = sqlite3.connect(self.db_path)
        self._db.execute("CREATE TABLE IF NOT EXISTS points (key TEXT PRIMARY KEY, seq INTEGER, row TEXT NOT NULL)")
        self._db.commit()

    def keys(self):
        return {k for (k,) in self._db.execute("SELECT key FROM points")}

    def __contains__(self, key):
        return self._db.execute("SELECT 1 FROM points WHERE key = ?", (key,)).fetchone() is not None

    def __len__(self):
        return self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0]

    def get(self, key):
        """What was stored under `key` (a row or a list of rows), or None."""
        found = self._db.execute("SELECT row FROM points WHERE key = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else None

    def add(self, key, row):
        """Commits one finished point (a row or a list of rows); a key already stored is left as it
        is (never duplicated)."""
        seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM points").fetchone()[0]
        self._db.execute("INSERT OR IGNORE INTO points (key, seq, row) VALUES (?, ?, ?)",
                         (key, seq, json.dumps(row, default=str)))
        self._db.commit()

    def rows(self):
        """Every stored row, in the order points finished (a point may hold several rows, e.g. one
        per collective size)."""
        out = []
        for (r,) in self._db.execute("SELECT row FROM points ORDER BY seq"):
            v = json.loads(r)
            out.extend(v if isinstance(v, list) else [v])
        return out

    def frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows())

    def to_parquet(self):
        """Writes every stored row to `path` when it is a .parquet path; returns the DataFrame."""
        frame = self.frame()
        if self.path.endswith(".parquet") and len(frame):
            frame.to_parquet(self.path, index=False)
        return frame

    def close(self):
        self._db.close()
