#!/usr/bin/python3
"""docs_synth.py SOURCE_DB OUT_DB N DIM - a collection of N chunks for the
search benchmark, in the schema of SOURCE_DB (a real collection offgrid
made, so the tables, FTS5 index and triggers are exactly offgrid's): each
chunk is 200 words drawn (Zipf-like) from the words of SOURCE_DB's real
chunks, with a random unit vector of DIM floats. Search cost depends on
the number of chunks and vectors, not on what they say; the vectors are
also written to OUT_DB.vecs (float32, N x DIM) for the sqlite-vec run.
Debian's python3 (its sqlite3 has FTS5); standard library only."""
import array, math, random, re, shutil, sqlite3, sys

src, out, n, dim = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
shutil.copyfile(src, out)
db = sqlite3.connect(out)
words = []
for (body,) in db.execute("SELECT body FROM chunks"):
    words += re.findall(r"[A-Za-z]{3,}", body)
if not words:
    sys.exit("docs_synth: no words in %s" % src)
vocab = sorted(set(words))
random.seed(7)
weights = [1.0 / (i + 1) for i in range(len(vocab))]
random.shuffle(vocab)
db.execute("DELETE FROM chunks")
db.execute("DELETE FROM pages")
db.execute("DELETE FROM documents")
db.execute("INSERT INTO documents(id, path, kind, n_pages, n_chunks) VALUES (1, '/synthetic.txt', 'text', ?, ?)",
           (n // 4 + 1, n))
vecs = open(out + ".vecs", "wb")
per_page = 4
for p in range(n // per_page + 1):
    db.execute("INSERT INTO pages(doc_id, idx, number, text) VALUES (1, ?, ?, '')", (p, p + 1))
batch = []
for i in range(n):
    body = " ".join(random.choices(vocab, weights, k=200))
    v = [random.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in v))
    a = array.array("f", (x / norm for x in v))
    a.tofile(vecs)
    batch.append((1, i // per_page, 0, len(body), body, a.tobytes()))
    if len(batch) == 2000:
        db.executemany("INSERT INTO chunks(doc_id, page_idx, start, end, body, vec) VALUES (?, ?, ?, ?, ?, ?)", batch)
        batch = []
if batch:
    db.executemany("INSERT INTO chunks(doc_id, page_idx, start, end, body, vec) VALUES (?, ?, ?, ?, ?, ?)", batch)
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
print("docs_synth: %d chunks, %d words of vocabulary" % (n, len(vocab)))
