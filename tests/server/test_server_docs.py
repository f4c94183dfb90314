#!/usr/bin/env python3
"""test_server_docs.py OFFGRID MODELS_DIR OUT_DIR - `offgrid serve --collection`:
the /v1/documents endpoints and the page's Documents tab.

On a fresh $OFFGRID_HOME: uploads two small documents with rare words
(multipart/form-data, one under a path-traversal name), waits for the
background indexer, lists, searches (the right file first, the fields of
`offgrid docs search --json`), asks whole and streamed (the deltas make the
answer; the sources event; [DONE]), deletes (gone from list, search and
disk), refuses bad input with the OpenAI error object, drives the
Documents tab in headless Chromium (upload, indexed, ask, sources; a
screenshot in OUT_DIR), restarts (an upload left unindexed is indexed at
start) and checks a server without a collection says documents are not
enabled. Prints 'N passed, N failed'.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

OG, MODELS, OUT = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
os.makedirs(OUT, exist_ok=True)
CHAT_MODEL = os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf")
EMBED_MODEL = os.path.join(MODELS, "all-MiniLM-L6-v2.f32.gguf")
KEY = "docs-key-0123456789"
HARBOR = b"# Zorblax harbor\n\nThe zorblax lighthouse at Quillmere harbor was painted teal in 1931 by the keeper Ondrea Vask.\n"
GARDEN = b"Gardening notes\n\nThe frimbleberry bush needs acidic soil and blooms in late October with violet flowers.\n"
NOTES = b"Bakery ledger\n\nThe glimmerloaf bread at the Pennwick bakery is baked with smoked barley flour every Tuesday.\n"
CELLO = b"Before the recital, the cellist carefully tuned each string of her cello backstage.\n"
NOTHING = "I could not find anything about this in the documents."
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}", file=sys.stderr, flush=True)


def start_server(home, *extra, models=("-m", CHAT_MODEL, "--embed-model", EMBED_MODEL)):
    env = dict(os.environ, OFFGRID_HOME=home)
    env.pop("OFFGRID_DOCS_PASSPHRASE", None)
    args = [OG, "serve", *models, "--port", "0", "--api-key", KEY, "--parallel", "1", "--ctx", "2048", *extra]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=env)
    port = None
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
            break
    if port is None:
        proc.kill()
        raise SystemExit("the server did not start: " + proc.stderr.read())
    proc.log = []
    threading.Thread(target=lambda: [proc.log.append(l) for l in proc.stderr], daemon=True).start()
    return proc, port


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return "hung"


def request(port, method, path, body=None, headers=None, key=KEY):
    """Returns (status, headers, parsed JSON or the text)."""
    h = {"Host": f"127.0.0.1:{port}"}
    if key:
        h["Authorization"] = "Bearer " + key
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        return r.status, dict(r.getheaders()), json.loads(data)
    except ValueError:
        return r.status, dict(r.getheaders()), data.decode("utf-8", "replace")


def multipart(fields):
    """fields: (name, filename or None, bytes). Returns (body, headers)."""
    boundary = "----offgrid-test-7f3a9c"
    out = b""
    for name, filename, data in fields:
        out += f"--{boundary}\r\n".encode()
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"Content-Disposition: {disp}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def upload(port, filename, data, extra=()):
    body, h = multipart([("purpose", None, b"test"), ("file", filename, data), *extra])
    return request(port, "POST", "/v1/documents", body, h)


def is_error(j, code=None):
    e = isinstance(j, dict) and j.get("error")
    return bool(e) and isinstance(e.get("message"), str) and isinstance(e.get("type"), str) and "code" in e and \
        (code is None or e["code"] == code)


def wait_indexed(port, names, timeout=180):
    """The list once every name in names is listed and none is indexing."""
    deadline = time.time() + timeout
    j = None
    while time.time() < deadline:
        _, _, j = request(port, "GET", "/v1/documents")
        listed = {d["name"]: d for d in j.get("data", [])}
        if all(n in listed for n in names) and not any(d["status"] == "indexing" for d in listed.values()):
            return j
        time.sleep(0.3)
    return j


def cello_id(port):
    _, _, j = request(port, "GET", "/v1/documents")
    return next(d["id"] for d in j["data"] if d["name"] == "cello.txt")


def ask_stream(port, question):
    """The SSE of a streamed ask: (status, deltas joined, the last JSON event, all data lines)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/v1/documents/ask", body=json.dumps({"question": question, "stream": True}),
              headers={"Host": f"127.0.0.1:{port}", "Authorization": "Bearer " + KEY,
                       "Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    data = [e[6:] for e in text.split("\n\n") if e.startswith("data: ")]
    events = [json.loads(d) for d in data if d != "[DONE]"]
    deltas = "".join(e["delta"] for e in events if "delta" in e)
    last = events[-1] if events else {}
    return r.status, r.getheader("Content-Type"), deltas, last, data


def test_api(port, home):
    files = os.path.join(home, "docs", "notes", "files")
    st, _, j = upload(port, "harbor.md", HARBOR)
    check("upload 202", st == 202 and j["status"] == "indexing" and j["name"] == "harbor.md" and
          j["bytes"] == len(HARBOR) and re.fullmatch(r"[0-9a-f]{16}", j["id"]) and
          j["path"] == os.path.join(os.path.realpath(files), "harbor.md"), (st, j))
    harbor_id = j.get("id")
    st, _, j = upload(port, "../../garden.txt", GARDEN)
    check("upload path traversal stored safely", st == 202 and j["name"] == "garden.txt" and
          os.path.dirname(j["path"]) == os.path.realpath(files) and
          not os.path.exists(os.path.join(home, "garden.txt")) and
          not os.path.exists(os.path.join(home, "docs", "garden.txt")), (st, j))
    garden_id = j.get("id")
    st, _, j = upload(port, ".hidden/..\\harbor.md", b"A second harbor file about the quay.\n")
    check("upload name collision gets a suffix", st == 202 and j["name"] == "harbor_2.md", (st, j))
    second_id = j.get("id")
    check("uploads stored on disk", open(os.path.join(files, "harbor.md"), "rb").read() == HARBOR and
          open(os.path.join(files, "garden.txt"), "rb").read() == GARDEN and
          not [f for f in os.listdir(files) if f.startswith(".")], os.listdir(files))

    j = wait_indexed(port, ["harbor.md", "garden.txt", "harbor_2.md"])
    by_name = {d["name"]: d for d in j["data"]}
    check("list object", j["object"] == "list" and len(j["data"]) == 3, j)
    check("list harbor.md indexed", by_name.get("harbor.md") == {
        "id": harbor_id, "object": "document", "path": os.path.join(os.path.realpath(files), "harbor.md"),
        "name": "harbor.md", "pages": 1, "chunks": 2, "bytes": len(HARBOR), "status": "indexed"}, by_name)
    check("list garden.txt indexed", by_name.get("garden.txt", {}).get("status") == "indexed" and
          by_name["garden.txt"]["chunks"] == 1 and by_name["garden.txt"]["id"] == garden_id, by_name)

    st, _, j = request(port, "DELETE", f"/v1/documents/{second_id}")
    check("delete 200", st == 200 and j == {"id": second_id, "object": "document", "deleted": True}, (st, j))
    check("delete removes the stored file", not os.path.exists(os.path.join(files, "harbor_2.md")))

    for mode in ("hybrid", "bm25", "dense"):
        st, _, j = request(port, "POST", "/v1/documents/search", {"query": "frimbleberry acidic soil", "k": 2,
                                                                  "mode": mode})
        res = j.get("results", []) if isinstance(j, dict) else []
        # BM25 finds only chunks holding a query word: garden.txt's one.
        check(f"search {mode}: the right file first", st == 200 and res and
              res[0]["doc"].endswith("/garden.txt") and len(res) == (1 if mode == "bm25" else 2), (st, j))
    check("search fields", res and set(res[0]) == {"doc", "page", "start", "end", "score", "cosine", "heading",
                                                   "text"} and res[0]["page"] is None and res[0]["start"] == 0 and
          res[0]["end"] == len(GARDEN.decode().rstrip("\n")) and res[0]["text"] == GARDEN.decode().rstrip("\n"), res)
    st, _, j = request(port, "POST", "/v1/documents/search", {"query": "Ondrea Vask lighthouse"})
    check("search default k", st == 200 and j["results"][0]["doc"].endswith("/harbor.md") and
          j["results"][0]["heading"] == "Zorblax harbor", j)

    # A document indexed after the request side loaded its vectors (the
    # searches above): dense search must see it (the indexer writes
    # through its own connection), with a query sharing no word with it.
    st, _, j = upload(port, "cello.txt", CELLO)
    wait_indexed(port, ["cello.txt"])
    st, _, j = request(port, "POST", "/v1/documents/search", {"query": "a musician preparing a violin-like "
                                                              "instrument for a show", "k": 3, "mode": "dense"})
    check("dense search sees a document indexed since its last search", st == 200 and
          j["results"][0]["doc"].endswith("/cello.txt"), j)
    st, _, j = request(port, "DELETE", "/v1/documents/" + cello_id(port))
    check("delete cello", st == 200, (st, j))

    q = "What color was the zorblax lighthouse at Quillmere harbor painted?"
    st, _, whole = request(port, "POST", "/v1/documents/ask", {"question": q})
    check("ask whole", st == 200 and isinstance(whole.get("answer"), str) and whole["answer"].strip() and
          whole["sources"] and whole["sources"][0]["doc"].endswith("/harbor.md") and
          set(whole["sources"][0]) == {"n", "doc", "page", "start", "end"} and
          isinstance(whole["dropped_citations"], int) and isinstance(whole["repointed"], int) and
          whole["nothing_relevant"] is False and
          whole["usage"]["completion_tokens"] > 0, (st, whole))
    st, ctype, deltas, last, data = ask_stream(port, q)
    check("ask stream: SSE", st == 200 and ctype == "text/event-stream", (st, ctype))
    check("ask stream: deltas make the answer", deltas and deltas == last.get("answer"), (deltas, last))
    check("ask stream: same answer as whole", last.get("answer") == whole.get("answer"), (last, whole))
    check("ask stream: sources event then [DONE]", last.get("sources") == whole.get("sources") and
          data[-1] == "[DONE]" and sum(1 for d in data if d.startswith('{"object"')) == 1, data[-3:])
    st, _, j = request(port, "POST", "/v1/documents/ask",
                       {"question": "How do I configure a Kubernetes ingress controller with TLS?"})
    check("ask nothing relevant", st == 200 and j["nothing_relevant"] is True and j["answer"] == NOTHING and
          j["sources"] == [], (st, j))
    st, _, deltas, last, _ = ask_stream(port, "How do I configure a Kubernetes ingress controller with TLS?")
    check("ask stream nothing relevant", deltas == NOTHING and last.get("nothing_relevant") is True, (deltas, last))

    st, _, j = request(port, "DELETE", f"/v1/documents/{garden_id}")
    check("delete garden", st == 200 and j.get("deleted") is True, (st, j))
    _, _, j = request(port, "GET", "/v1/documents")
    check("deleted: not listed", [d["name"] for d in j["data"]] == ["harbor.md"], j)
    _, _, j = request(port, "POST", "/v1/documents/search", {"query": "frimbleberry acidic soil"})
    check("deleted: not found by search", all(not r["doc"].endswith("/garden.txt") for r in j["results"]), j)
    check("deleted: its file is gone", not os.path.exists(os.path.join(files, "garden.txt")), os.listdir(files))
    st, _, j = request(port, "DELETE", f"/v1/documents/{garden_id}")
    check("delete unknown id 404", st == 404 and is_error(j, "document_not_found"), (st, j))
    st, _, j = request(port, "DELETE", "/v1/documents/../../etc")
    check("delete odd id 404", st == 404 and is_error(j), (st, j))


def test_bad_input(port):
    body, h = multipart([("notfile", "a.txt", b"hello")])
    st, _, j = request(port, "POST", "/v1/documents", body, h)
    check("upload without a file field 400", st == 400 and is_error(j, "missing_file"), (st, j))
    st, _, j = request(port, "POST", "/v1/documents", {"file": "x"})
    check("upload as JSON 415", st == 415 and is_error(j, "unsupported_media_type"), (st, j))
    st, _, j = upload(port, "empty.txt", b"")
    check("upload empty file 400", st == 400 and is_error(j, "empty_file"), (st, j))
    big, h = multipart([("file", "big.txt", b"x" * (1536 * 1024))])
    st, _, j = request(port, "POST", "/v1/documents", big, h)
    check("upload over --max-upload 413", st == 413 and is_error(j, "request_too_large") and
          "--max-upload" in j["error"]["message"], (st, j))
    st, _, j = request(port, "POST", "/v1/documents/search", {"query": " "})
    check("search empty query 400", st == 400 and is_error(j, "invalid_value"), (st, j))
    for body, what in (({"query": "x", "k": 0}, "k 0"), ({"query": "x", "k": 51}, "k 51"),
                       ({"query": "x", "mode": "fuzzy"}, "mode"), ({"query": 3}, "query type")):
        st, _, j = request(port, "POST", "/v1/documents/search", body)
        check(f"search bad {what} 400", st == 400 and is_error(j), (st, j))
    st, _, j = request(port, "POST", "/v1/documents/search", "{not json")
    check("search bad JSON 400", st == 400 and is_error(j, "invalid_json"), (st, j))
    for body, what in (({}, "no question"), ({"question": ""}, "empty question"),
                       ({"question": "x", "stream": "yes"}, "stream type"), ({"question": "x", "k": 99}, "k")):
        st, _, j = request(port, "POST", "/v1/documents/ask", body)
        check(f"ask {what} 400", st == 400 and is_error(j), (st, j))
    for method, path in (("PUT", "/v1/documents"), ("GET", "/v1/documents/search"), ("GET", "/v1/documents/ask"),
                         ("PATCH", "/v1/documents/0123456789abcdef")):
        st, _, j = request(port, method, path)
        check(f"{method} {path} 405", st == 405 and is_error(j, "method_not_allowed"), (st, j))
    st, h, j = request(port, "GET", "/v1/documents", key=None)
    check("no key 401", st == 401 and is_error(j, "invalid_api_key"), (st, j))
    st, _, j = request(port, "GET", "/health")
    check("healthy after bad input", st == 200 and j["status"] == "ok", j)


def driver_for():
    try:
        from selenium import webdriver
    except ImportError:
        check("page (selenium missing)", False, "pip install selenium (tools/setup.sh)")
        return None
    if not os.path.exists("/usr/bin/chromedriver"):
        check("page (chromium-driver missing)", False, "apt-get install chromium chromium-driver (tools/setup.sh)")
        return None
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1000,800", "--no-proxy-server"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"))


def open_docs_tab(driver, port):
    from selenium.webdriver.common.by import By
    driver.get(f"http://127.0.0.1:{port}/?max_tokens=60")
    key = driver.find_element(By.ID, "key")
    key.send_keys(KEY)
    driver.execute_script("arguments[0].dispatchEvent(new Event('change'))", key)
    driver.find_element(By.ID, "tab-docs").click()


def test_page(port, tmp):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver = driver_for()
    if not driver:
        return
    try:
        open_docs_tab(driver, port)
        WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#docs-list tr.doc"))
        check("page: chat hidden on the Documents tab", not driver.find_element(By.ID, "chat-view").is_displayed())
        path = os.path.join(tmp, "bakery.txt")
        with open(path, "wb") as f:
            f.write(NOTES)
        driver.find_element(By.ID, "docs-file").send_keys(path)
        driver.find_element(By.ID, "docs-upload").click()

        def row(d):
            # Read in one script: the list is re-rendered while it polls.
            return d.execute_script("for(const tr of document.querySelectorAll('#docs-list tr.doc')){"
                                    "const c=[...tr.querySelectorAll('td')].map(t=>t.textContent);"
                                    "if(c[0]==='bakery.txt')return c;}return null;")
        try:
            WebDriverWait(driver, 180).until(lambda d: (row(d) or [""] * 4)[3] == "indexed")
            check("page: upload listed as indexed", row(driver)[:4] == ["bakery.txt", "1", "1", "indexed"],
                  row(driver))
        except Exception:
            check("page: upload listed as indexed", False, (row(driver), driver.find_element(By.ID, "docs-msg").text))
        driver.find_element(By.ID, "docs-q").send_keys("What bread does the Pennwick bakery bake on Tuesday?")
        driver.find_element(By.ID, "docs-ask").click()
        try:
            WebDriverWait(driver, 120).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#docs-sources li.source, #docs-answer.error"))
        except Exception:
            pass
        answer = driver.find_element(By.ID, "docs-answer")
        sources = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#docs-sources li.source")]
        check("page: the answer streamed", answer.get_attribute("class") == "done" and answer.text.strip(),
              (answer.get_attribute("class"), answer.text))
        check("page: a source line", "[1] bakery.txt" in sources or any(re.fullmatch(r"\[\d+\] bakery\.txt", s)
                                                                         for s in sources), sources)
        shot = os.path.join(OUT, "server_page_documents.png")
        driver.save_screenshot(shot)
        check("page: screenshot", os.path.getsize(shot) > 1000, shot)
        print(f"documents tab screenshot: {shot}")
        # Delete from the page.
        before = driver.execute_script("return document.querySelectorAll('#docs-list tr.doc').length")
        driver.execute_script("for(const tr of document.querySelectorAll('#docs-list tr.doc'))"
                              "if(tr.querySelector('td').textContent==='bakery.txt')tr.querySelector('button.del').click();")
        try:
            WebDriverWait(driver, 20).until(lambda d: row(d) is None)
            check("page: delete", driver.execute_script("return document.querySelectorAll('#docs-list tr.doc')"
                                                        ".length") == before - 1)
        except Exception:
            check("page: delete", False, row(driver))
    finally:
        driver.quit()


def test_page_disabled(port):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver = driver_for()
    if not driver:
        return
    try:
        open_docs_tab(driver, port)
        try:
            WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "docs-off").is_displayed())
            text = driver.find_element(By.ID, "docs-off").text
            check("page without a collection: says so", "not enabled" in text and "--collection" in text and
                  not driver.find_element(By.ID, "docs-on").is_displayed(), text)
        except Exception:
            check("page without a collection: says so", False, driver.find_element(By.ID, "docs-view").text)
    finally:
        driver.quit()


def test_cli_refusals(home):
    env = dict(os.environ, OFFGRID_HOME=home)
    r = subprocess.run([OG, "serve", "-m", CHAT_MODEL, "-C", "notes", "--port", "0"], capture_output=True,
                       text=True, env=env, timeout=60)
    check("--collection without an encoder: refused", r.returncode == 1 and "--embed-model" in r.stderr, r.stderr)
    r = subprocess.run([OG, "serve", "--embed-model", EMBED_MODEL, "--max-upload", "4", "--port", "0"],
                       capture_output=True, text=True, env=env, timeout=60)
    check("--max-upload without --collection: exit 2", r.returncode == 2 and "--collection" in r.stderr, r.stderr)
    r = subprocess.run([OG, "serve", "--embed-model", EMBED_MODEL, "-C", "../x", "--port", "0"],
                       capture_output=True, text=True, env=env, timeout=60)
    check("bad collection name: exit 1", r.returncode == 1 and "invalid collection name" in r.stderr, r.stderr)
    r = subprocess.run([OG, "serve", "--help"], capture_output=True, text=True, timeout=60)
    check("--help names the documents options", r.returncode == 0 and "--collection" in r.stdout and
          "--max-upload" in r.stdout and "--passphrase-file" in r.stdout, r.stdout[-400:])


def test_encrypted(home, tmp):
    """--passphrase-file: a new collection is created encrypted; without
    the passphrase the server refuses to start."""
    pf = os.path.join(tmp, "pass.txt")
    with open(pf, "w") as f:
        f.write("correct horse battery staple\n")
    proc, port = start_server(home, "-C", "secret", "--passphrase-file", pf, models=("--embed-model", EMBED_MODEL))
    try:
        st, _, j = upload(port, "garden.txt", GARDEN)
        check("encrypted: upload", st == 202, (st, j))
        j = wait_indexed(port, ["garden.txt"])
        check("encrypted: indexed", [d["status"] for d in j["data"]] == ["indexed"], j)
        _, _, j = request(port, "POST", "/v1/documents/search", {"query": "frimbleberry", "k": 1})
        check("encrypted: search", j["results"][0]["doc"].endswith("/garden.txt"), j)
        st, _, j = request(port, "POST", "/v1/documents/ask", {"question": "What soil does the frimbleberry need?"})
        check("encrypted: ask without a chat model 404", st == 404 and is_error(j, "model_not_found"), (st, j))
    finally:
        check("encrypted: clean exit", stop_server(proc) == 0, proc.returncode)
    cdir = os.path.join(home, "docs", "secret")
    db = open(os.path.join(cdir, "docs.db"), "rb").read()
    check("encrypted: the database holds no plain text", os.path.exists(os.path.join(cdir, "docs.key")) and
          b"frimbleberry" not in db and b"SQLite format" not in db, len(db))
    # Nor any file under the collection's folder: the upload itself is
    # deleted once indexed (its text lives only in the database).
    leaks = []
    for dirpath, _, names in os.walk(cdir):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as f:
                if b"frimbleberry" in f.read():
                    leaks.append(os.path.join(dirpath, name))
    check("encrypted: no file under the collection holds the text", not leaks, leaks)
    env = dict(os.environ, OFFGRID_HOME=home)
    env.pop("OFFGRID_DOCS_PASSPHRASE", None)
    r = subprocess.run([OG, "serve", "--embed-model", EMBED_MODEL, "-C", "secret", "--port", "0"],
                       capture_output=True, text=True, env=env, timeout=120)
    check("encrypted: no passphrase, no server", r.returncode == 1 and "encrypted" in r.stderr, r.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="og-serve-docs-")
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    try:
        test_cli_refusals(home)
        proc, port = start_server(home, "-C", "notes", "--max-upload", "1")
        try:
            for t in (lambda: test_api(port, home), lambda: test_bad_input(port), lambda: test_page(port, tmp)):
                try:
                    t()
                except Exception as e:
                    import traceback
                    traceback.print_exc()
                    check("a test group", False, repr(e))
                check("server alive", proc.poll() is None, proc.returncode)
        finally:
            check("clean exit", stop_server(proc) == 0, proc.returncode)
        # An upload stored but never indexed (the server was stopped, or
        # killed, first) is indexed when the server starts again.
        files = os.path.join(home, "docs", "notes", "files")
        with open(os.path.join(files, "left.txt"), "wb") as f:
            f.write(GARDEN)
        proc, port = start_server(home, "-C", "notes")
        try:
            j = wait_indexed(port, ["left.txt", "harbor.md"], timeout=120)
            check("restart: documents kept, a left upload indexed",
                  sorted((d["name"], d["status"]) for d in j["data"]) == [("harbor.md", "indexed"),
                                                                         ("left.txt", "indexed")], j)
            _, _, j = request(port, "POST", "/v1/documents/search", {"query": "frimbleberry", "k": 1})
            check("restart: the left upload is found", j["results"][0]["doc"].endswith("/left.txt"), j)
        finally:
            check("clean exit after restart", stop_server(proc) == 0, proc.returncode)
        test_encrypted(home, tmp)
        proc, port = start_server(home, models=("--embed-model", EMBED_MODEL))
        try:
            st, _, j = request(port, "GET", "/v1/documents")
            check("no collection: 404 documents_not_enabled", st == 404 and is_error(j, "documents_not_enabled") and
                  "--collection" in j["error"]["message"], (st, j))
            st, _, j = upload(port, "a.txt", b"hello")
            check("no collection: upload 404", st == 404 and is_error(j, "documents_not_enabled"), (st, j))
            test_page_disabled(port)
        finally:
            check("clean exit without a collection", stop_server(proc) == 0, proc.returncode)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"cli_serve_docs: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
