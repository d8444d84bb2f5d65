#!/usr/bin/env python3
"""What SQLite's `synchronous = FULL` (PBM's embedded default) costs over `NORMAL` on this disk.

One-row transactions in WAL mode, 1,000 per setting, twice each, in a directory on the disk the
data directory lives on (first argument; default ./target). Prints commits/s, p50 and p99. The
difference is the cost of one sync of the write-ahead log per commit; PBM's group commit pays it
once per batch (docs/SECURITY.md "Durability"). Python's sqlite3 module: nothing to install.
"""

import os
import sqlite3
import sys
import time

directory = sys.argv[1] if len(sys.argv) > 1 else "target"
for mode in ["NORMAL", "FULL", "NORMAL", "FULL"]:
    path = os.path.join(directory, f"sync-{mode.lower()}.sqlite3")
    for f in (path, path + "-wal", path + "-shm"):
        if os.path.exists(f):
            os.remove(f)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute(f"PRAGMA synchronous = {mode}")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    latencies = []
    started = time.perf_counter()
    for _ in range(1000):
        t = time.perf_counter()
        db.execute("BEGIN")
        db.execute("INSERT INTO t (v) VALUES (?)", ("x" * 200,))
        db.execute("COMMIT")
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    latencies.sort()
    print(f"{mode:6} {1000 / elapsed:8.0f} commits/s  p50 {latencies[500] * 1e3:.3f} ms  "
          f"p99 {latencies[990] * 1e3:.3f} ms")
    db.close()
    for f in (path, path + "-wal", path + "-shm"):
        if os.path.exists(f):
            os.remove(f)
