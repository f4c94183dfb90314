#!/usr/bin/python3
"""docs_vec.py VECS QVECS DIM K - sqlite-vec's exact (brute-force) KNN over
the same vectors and queries the offgrid run used: a vec0 table with the
cosine metric, each query after one warm-up pass; prints p50 and p95.
Needs Debian's python3 (the sqlite3 module with extension loading) and
the sqlite-vec package on PYTHONPATH."""
import sqlite3, sys, time
import sqlite_vec

vecs, qvecs, dim, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
row = dim * 4
data, queries = open(vecs, "rb").read(), open(qvecs, "rb").read()
db = sqlite3.connect(":memory:")
db.enable_load_extension(True)
sqlite_vec.load(db)
db.execute("CREATE VIRTUAL TABLE v USING vec0(embedding float[%d] distance_metric=cosine)" % dim)
db.executemany("INSERT INTO v(rowid, embedding) VALUES (?, ?)",
               ((i, data[i * row:(i + 1) * row]) for i in range(len(data) // row)))
qs = [queries[i * row:(i + 1) * row] for i in range(len(queries) // row)]
for rnd in range(2):
    ms = []
    for q in qs:
        t0 = time.perf_counter()
        db.execute("SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = ? ORDER BY distance", (q, k)).fetchall()
        ms.append(1e3 * (time.perf_counter() - t0))
ms.sort()
print("%-22s p50 %8.2f ms   p95 %8.2f ms   (%d queries, %s)" % ("sqlite-vec vec0 scan", ms[len(ms) // 2],
      ms[int(len(ms) * 0.95)], len(ms), db.execute("SELECT vec_version()").fetchone()[0]))
