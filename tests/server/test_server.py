#!/usr/bin/env python3
"""test_server.py OFFGRID MODELS_DIR OUT_DIR - end-to-end tests of `offgrid serve`.

Starts the server on a free loopback port (--port 0) with an API key, then:
the official openai SDK (chat whole and streamed, completions, embeddings,
models.list, stop, seed, json_object), hostile requests over raw sockets
(each must get its 4xx JSON error and leave the server healthy), bodies over
--max-body (the 413 read even by a client that sends all before reading;
endless or slow bodies cut off within the bounds), a client
that hangs up mid-stream (its generation must be cancelled), a full queue
(503 with Retry-After), /metrics, and the chat page in headless Chromium
when chromium and selenium are there (screenshot in OUT_DIR). Stops the
server with SIGTERM and expects a clean exit (under ASan: no leaks).
Prints 'N passed, N failed'.
"""
import http.client
import json
import math
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

OG, MODELS, OUT = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
os.makedirs(OUT, exist_ok=True)
CHAT_MODEL = os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf")
EMBED_MODEL = os.path.join(MODELS, "all-MiniLM-L6-v2.f32.gguf")
KEY = "test-key-0123456789"
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}", file=sys.stderr, flush=True)


def start_server(*extra):
    keyfile = tempfile.NamedTemporaryFile("w", delete=False)
    keyfile.write(KEY + "\n")
    keyfile.close()
    args = [OG, "serve", "-m", CHAT_MODEL, "--embed-model", EMBED_MODEL, "--port", "0",
            "--api-key-file", keyfile.name, "--ctx", "1024", *extra]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
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
    os.unlink(keyfile.name)
    if port is None:
        proc.kill()
        raise SystemExit("the server did not start: " + proc.stderr.read())
    # Keep draining stderr so the server never blocks on a full pipe; the
    # lines are kept for the --log checks.
    proc.log = []
    threading.Thread(target=lambda: [proc.log.append(line) for line in proc.stderr], daemon=True).start()
    return proc, port


def raw(port, method, path, body=None, headers=None, key=KEY):
    """One request over http.client; returns (status, headers, parsed JSON or text)."""
    h = {"Host": f"127.0.0.1:{port}"}
    if key:
        h["Authorization"] = "Bearer " + key
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        return r.status, dict(r.getheaders()), json.loads(data)
    except ValueError:
        return r.status, dict(r.getheaders()), data.decode("utf-8", "replace")


def is_error(j, status_code=None):
    e = isinstance(j, dict) and j.get("error")
    return bool(e) and isinstance(e.get("message"), str) and isinstance(e.get("type"), str) and "code" in e


def test_sdk(port):
    import openai
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0, timeout=120)
    ids = [m.id for m in client.models.list()]
    check("models.list", "SmolLM2-135M-Instruct.Q4_1.gguf" in ids and "all-MiniLM-L6-v2.f32.gguf" in ids, ids)
    check("models.retrieve", client.models.retrieve("all-MiniLM-L6-v2.f32.gguf").id == "all-MiniLM-L6-v2.f32.gguf")
    try:
        client.models.retrieve("nope")
        check("models.retrieve missing", False, "found")
    except openai.NotFoundError:
        check("models.retrieve missing", True)

    msgs = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"}]
    r = client.chat.completions.create(model="x", messages=msgs, max_tokens=12, temperature=0)
    text = r.choices[0].message.content
    check("chat text", isinstance(text, str) and len(text) > 0, r)
    check("chat role", r.choices[0].message.role == "assistant", r)
    check("chat finish", r.choices[0].finish_reason in ("stop", "length"), r)
    check("chat usage", r.usage.completion_tokens > 0 and r.usage.prompt_tokens > 0 and
          r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens, r.usage)

    # Streaming gives the same greedy text, piece by piece, then usage.
    pieces, usage, finish = [], None, None
    for ch in client.chat.completions.create(model="x", messages=msgs, max_tokens=12, temperature=0, stream=True,
                                             stream_options={"include_usage": True}):
        if ch.usage:
            usage = ch.usage
        for c in ch.choices:
            if c.delta.content:
                pieces.append(c.delta.content)
            if c.finish_reason:
                finish = c.finish_reason
    check("chat stream text", "".join(pieces) == text, ("".join(pieces), text))
    check("chat stream pieces", len(pieces) > 1, pieces)
    check("chat stream finish", finish == r.choices[0].finish_reason, finish)
    check("chat stream usage", usage is not None and usage.completion_tokens == r.usage.completion_tokens, usage)
    check("prefix cache", usage is not None and usage.prompt_tokens_details.cached_tokens > 0, usage)

    # Seeded sampling is reproducible.
    a = client.chat.completions.create(model="x", messages=msgs, max_tokens=10, temperature=0.9, seed=42)
    b = client.chat.completions.create(model="x", messages=msgs, max_tokens=10, temperature=0.9, seed=42)
    check("seed", a.choices[0].message.content == b.choices[0].message.content)

    # Stop strings cut the text before them.
    r = client.completions.create(model="x", prompt="1, 2, 3, 4, 5,", max_tokens=16, temperature=0, stop=[" 8"])
    t = r.choices[0].text
    check("completions text", isinstance(t, str) and " 8" not in t, t)
    check("completions stop", r.choices[0].finish_reason == "stop", r.choices[0])
    check("completions object", r.object == "text_completion" and r.usage.completion_tokens > 0, r)
    streamed = "".join(c.choices[0].text for c in client.completions.create(
        model="x", prompt="1, 2, 3, 4, 5,", max_tokens=16, temperature=0, stop=[" 8"], stream=True) if c.choices)
    check("completions stream", streamed == t, (streamed, t))

    # json_object: whatever the model says, it parses as one JSON object.
    r = client.chat.completions.create(
        model="x", messages=[{"role": "user", "content": "Describe a cat as JSON with its name and age."}],
        max_tokens=120, temperature=0, response_format={"type": "json_object"})
    content = r.choices[0].message.content
    if r.choices[0].finish_reason == "stop":
        try:
            obj = json.loads(content)
            check("json_object", isinstance(obj, dict), content)
        except ValueError as e:
            check("json_object", False, f"{e}: {content!r}")
    else:
        check("json_object starts", content.startswith("{"), content)

    # Embeddings: the SDK asks for base64 by default; floats on request.
    e = client.embeddings.create(model="x", input=["The cat sits.", "A cat is sitting.", "Stock prices fell."])
    vecs = [d.embedding for d in e.data]
    check("embeddings dim", len(vecs) == 3 and all(len(v) == 384 for v in vecs), [len(v) for v in vecs])
    norm = math.sqrt(sum(x * x for x in vecs[0]))
    check("embeddings unit", abs(norm - 1) < 1e-4, norm)
    dot = lambda u, v: sum(x * y for x, y in zip(u, v))
    check("embeddings meaning", dot(vecs[0], vecs[1]) > dot(vecs[0], vecs[2]), (dot(vecs[0], vecs[1]), dot(vecs[0], vecs[2])))
    check("embeddings usage", e.usage.prompt_tokens > 0, e.usage)
    f = client.embeddings.create(model="x", input="The cat sits.", encoding_format="float")
    check("embeddings float", max(abs(x - y) for x, y in zip(f.data[0].embedding, vecs[0])) < 1e-6)

    try:
        openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="wrong", max_retries=0).models.list()
        check("sdk wrong key", False, "accepted")
    except openai.AuthenticationError:
        check("sdk wrong key", True)


def expect_error(name, want, got):
    status, headers, body = got
    check(name, status == want and is_error(body), (status, body))
    return headers


def test_hostile(port):
    chat = "/v1/chat/completions"
    ok_msgs = [{"role": "user", "content": "hi"}]
    expect_error("bad json", 400, raw(port, "POST", chat, b'{"messages": [', {"Content-Type": "application/json"}))
    expect_error("empty body", 400, raw(port, "POST", chat, b""))
    expect_error("json array", 400, raw(port, "POST", chat, [1, 2]))
    expect_error("messages type", 400, raw(port, "POST", chat, {"messages": "hello"}))
    expect_error("no messages", 400, raw(port, "POST", chat, {"model": "x"}))
    expect_error("role type", 400, raw(port, "POST", chat, {"messages": [{"role": 5, "content": "x"}]}))
    expect_error("bad role", 400, raw(port, "POST", chat, {"messages": [{"role": "wizard", "content": "x"}]}))
    expect_error("content type", 400, raw(port, "POST", chat, {"messages": [{"role": "user", "content": 7}]}))
    expect_error("temperature type", 400, raw(port, "POST", chat, {"messages": ok_msgs, "temperature": "hot"}))
    expect_error("max_tokens negative", 400, raw(port, "POST", chat, {"messages": ok_msgs, "max_tokens": -1}))
    expect_error("max_tokens huge", 400, raw(port, "POST", chat, {"messages": ok_msgs, "max_tokens": 10**12}))
    expect_error("max_tokens float", 400, raw(port, "POST", chat, {"messages": ok_msgs, "max_tokens": 1.5}))
    expect_error("stream type", 400, raw(port, "POST", chat, {"messages": ok_msgs, "stream": "yes"}))
    expect_error("stop type", 400, raw(port, "POST", chat, {"messages": ok_msgs, "stop": [1]}))
    expect_error("stop too long", 400, raw(port, "POST", chat, {"messages": ok_msgs, "stop": "x" * 300}))
    expect_error("n > 1", 400, raw(port, "POST", chat, {"messages": ok_msgs, "n": 3}))
    expect_error("response_format", 400, raw(port, "POST", chat, {"messages": ok_msgs, "response_format": {"type": "xml"}}))
    expect_error("duplicate keys", 400, raw(port, "POST", chat, b'{"messages": [], "messages": []}'))
    expect_error("invalid utf-8", 400, raw(port, "POST", chat, b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}'))
    expect_error("tools", 400, raw(port, "POST", chat, {"messages": ok_msgs, "tools": [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]}))
    _, _, body = raw(port, "POST", chat, {"messages": ok_msgs, "tools": []})
    check("tools message", is_error(body) and "'tools' is not supported" in body["error"]["message"], body)
    expect_error("tool_choice", 400, raw(port, "POST", chat, {"messages": ok_msgs, "tool_choice": "required"}))
    st, _, body = raw(port, "POST", chat, b'{"messages": [{"role": "user", "content": "a\\u0000b"}]}')
    check("json nul", st == 400 and is_error(body) and body["error"]["message"] ==
          "request body: JSON strings may not contain \\u0000 (at line 1, column 52)", (st, body))
    expect_error("deep nesting", 400, raw(port, "POST", chat, b"[" * 100000 + b"]" * 100000))
    expect_error("prompt too long", 400, raw(port, "POST", "/v1/completions", {"prompt": "word " * 3000}))
    expect_error("prompt type", 400, raw(port, "POST", "/v1/completions", {"prompt": {"a": 1}}))
    expect_error("embed input type", 400, raw(port, "POST", "/v1/embeddings", {"input": [1, 2, 3]}))
    expect_error("embed format", 400, raw(port, "POST", "/v1/embeddings", {"input": "x", "encoding_format": "hex"}))
    expect_error("missing key", 401, raw(port, "GET", "/v1/models", key=None))
    h = expect_error("wrong key", 401, raw(port, "GET", "/v1/models", key="nope"))
    check("WWW-Authenticate", h.get("WWW-Authenticate") == "Bearer", h)
    expect_error("key prefix", 401, raw(port, "GET", "/v1/models", key=KEY[:-1]))
    expect_error("foreign host", 403, raw(port, "GET", "/v1/models", headers={"Host": "evil.example:80"}))
    expect_error("rebinding host", 403, raw(port, "GET", "/health", headers={"Host": "attacker.test"}))
    expect_error("foreign origin", 403, raw(port, "POST", chat, {"messages": ok_msgs},
                                            headers={"Origin": "http://evil.example"}))
    expect_error("unknown path", 404, raw(port, "GET", "/v2/nothing"))
    expect_error("wrong method", 405, raw(port, "GET", chat))
    st, _, _ = raw(port, "GET", "/health", key=None)
    check("health without key", st == 200, st)
    st, _, _ = raw(port, "GET", "/v1/models", headers={"Host": f"localhost:{port}"})
    check("localhost host", st == 200, st)
    st, _, _ = raw(port, "POST", chat, {"messages": ok_msgs, "max_tokens": 2},
                   headers={"Origin": f"http://127.0.0.1:{port}"})
    check("same origin", st == 200, st)

    # CORS: allow-listed origins get the header and preflight answers.
    allowed = {"Origin": "http://other.example:3000"}
    st, h, _ = raw(port, "GET", "/v1/models", headers=allowed)
    check("cors allowed", st == 200 and h.get("Access-Control-Allow-Origin") == allowed["Origin"], (st, h))
    st, h, _ = raw(port, "OPTIONS", chat, key=None, headers={"Origin": "http://allowed.example",
                                                             "Access-Control-Request-Method": "POST"})
    check("cors preflight", st == 204 and "POST" in h.get("Access-Control-Allow-Methods", "") and
          h.get("Access-Control-Allow-Origin") == "http://allowed.example", (st, h))
    st, h, _ = raw(port, "GET", "/v1/models")
    check("no cors header without origin", "Access-Control-Allow-Origin" not in h, h)
    expect_error("cors preflight foreign", 403, raw(port, "OPTIONS", chat, key=None,
                                                    headers={"Origin": "http://evil.example"}))

    # Garbage on the wire, a half-sent request and a slow client.
    for junk in (b"\x00\x01\x02 garbage\r\n\r\n", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 200000,
                 b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"pro"):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            s.recv(4096)
        except OSError:
            pass
        s.close()
    st, _, body = raw(port, "GET", "/health", key=None)
    check("alive after hostile", st == 200 and body.get("status") == "ok", (st, body))


def exchange(port, data, timeout=5):
    """Sends data on a fresh connection and reads until the server closes it
    (or timeout seconds pass); returns what came back."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except OSError:
        pass
    s.close()
    return out


def json_answer(answer):
    """(status, parsed JSON body or None, number of status lines) of a raw answer."""
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", answer)
    head, _, body = answer.partition(b"\r\n\r\n")
    try:
        j = json.loads(body)
    except ValueError:
        j = None
    return (int(m.group(1)) if m else 0), j, answer.count(b"HTTP/1.")


def test_gate(port):
    """What comes before a request is routed: the header deadline and the
    room kept for /health while hostile clients hold connections, bad
    Content-Length and Host headers (gate.c and server.c's checks)."""
    # A Content-Length libmicrohttpd 0.9.75 would answer twice, in HTML.
    for name, cl, want in (("minus one", b"-1", 400), ("past 2^64", b"18446744073709551616", 413),
                           ("huge", b"9" * 30, 413), ("not a number", b"12abc", 400)):
        got = exchange(port, b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                       KEY.encode() + b"\r\nContent-Length: " + cl + b"\r\n\r\n")
        st, j, lines = json_answer(got)
        check(f"content-length {name}", st == want and is_error(j) and lines == 1, got[:400])
    got = exchange(port, b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n")
    st, j, _ = json_answer(got)
    check("content-length with chunked", st == 400 and is_error(j), got[:300])

    # Host: required by HTTP/1.1, once, and host[:port].
    for name, hosts in (("missing host", []), ("two hosts", [b"127.0.0.1", b"evil.example"]),
                        ("host port not a number", [b"localhost:evil"]), ("empty host", [b""])):
        req = b"GET /health HTTP/1.1\r\n" + b"".join(b"Host: " + h + b"\r\n" for h in hosts) + b"\r\n"
        st, j, _ = json_answer(exchange(port, req))
        check(name, st == 400 and is_error(j) and j["error"]["code"] == "invalid_host", (st, j))
    st, j, _ = json_answer(exchange(port, b"GET /health HTTP/1.0\r\n\r\n"))
    check("http/1.0 without host", st == 200, (st, j))
    st, j, _ = json_answer(exchange(port, f"GET /health HTTP/1.1\r\nHost: [::1]:{port}\r\n\r\n".encode()))
    check("ipv6 host", st == 200, (st, j))

    # Slow headers: 200 connections sending one header byte a second would
    # hold every one of libmicrohttpd's 128 connections; here they wait in
    # the gate and /health (and a client with the key) still get through.
    # The 1 s bound is the issue's; an answer takes milliseconds.
    first = socket.create_connection(("127.0.0.1", port), timeout=20)
    first.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    t_first = time.time()
    slow = []
    try:
        for i in range(200):
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            c.sendall(b"G")
            slow.append(c)
        took = []
        for second in range(3):
            time.sleep(1)
            for c in slow:
                try:
                    c.send(b"E")
                except OSError:
                    pass
            t0 = time.time()
            try:
                st, _, body = raw(port, "GET", "/health", key=None)
            except OSError as e:
                st, body = 0, repr(e)
            took.append(time.time() - t0)
            check(f"health while 200 slow {second}", st == 200 and body.get("status") == "ok", (st, body))
        check("health within 1 s while 200 slow", max(took) < 1.0, took)
        t0 = time.time()
        try:
            st, _, body = raw(port, "GET", "/v1/models")
        except OSError as e:
            st, body = 0, repr(e)
        check("key holder while 200 slow", st == 200 and time.time() - t0 < 1.0, (st, time.time() - t0))
    finally:
        for c in slow:
            c.close()
    # The header deadline (10 s, gate.c GATE_HEADER_SECONDS): a 408, then the close.
    answer = b""
    try:
        while True:
            d = first.recv(65536)
            if not d:
                break
            answer += d
    except OSError:
        pass
    waited = time.time() - t_first
    first.close()
    st, j, _ = json_answer(answer)
    check("header deadline", st == 408 and is_error(j) and 9 < waited < 14, (waited, answer[:300]))


def send_until_cut(port, headers, pieces, pause=0.0, give_up=40):
    """Sends a POST's headers, then each of pieces with pause between, until
    the server closes the connection (or give_up seconds pass). Returns
    (seconds from the headers to the cut or None, body bytes sent, answer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=give_up)
    s.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
              f"Authorization: Bearer {KEY}\r\n{headers}\r\n".encode())
    t0, sent, answer, cut = time.time(), 0, b"", None
    try:
        for piece in pieces:
            if time.time() - t0 > give_up:
                break
            s.sendall(piece)
            sent += len(piece)
            # Anything to read (the answer or the end) is looked at as it comes.
            while select.select([s], [], [], 0)[0]:
                data = s.recv(65536)
                answer += data
                if not data:
                    raise ConnectionResetError
            time.sleep(pause)
        else:  # all sent: wait for the server to end the connection
            while time.time() - t0 < give_up:
                data = s.recv(65536)
                answer += data
                if not data:
                    raise ConnectionResetError
    except OSError:
        cut = time.time() - t0
    s.close()
    return cut, sent, answer


def test_too_large(port):
    """A body over --max-body (1 MiB here): the client reads the 413, even one
    that sends the whole body before reading (Python's http.client); a client
    that would send without end, or slowly, is cut off within the bounds
    (64 MiB past the limit, 10 s; server.c DRAIN_*)."""
    for i in range(5):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("POST", "/v1/chat/completions", body=b"x" * (4 << 20),
                      headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"})
            r = c.getresponse()
            got = (r.status, r.getheader("Connection"), json.loads(r.read()))
            c.close()
        except (OSError, http.client.HTTPException, ValueError) as e:
            got = (0, None, repr(e))
        check(f"too large, read by http.client {i}", got[0] == 413 and got[1] == "close" and is_error(got[2]) and
              got[2]["error"]["code"] == "request_too_large", got)
    # Chunked, so no Content-Length says so before the limit is passed.
    chunk = b"y" * 65536
    cut, sent, answer = send_until_cut(port, "Transfer-Encoding: chunked\r\n",
                                       [b"%x\r\n" % len(chunk) + chunk + b"\r\n"] * 40 + [b"0\r\n\r\n"])
    check("too large, chunked", answer.startswith(b"HTTP/1.1 413") and b'"request_too_large"' in answer, answer[:200])
    # Chunked past the limit: the 413 comes as soon as the limit is
    # crossed, while the client is still sending, and reaches even a
    # client that never ends its body.
    for terminated in (True, False):
        name = "terminated" if terminated else "unterminated"
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {KEY}"
                  f"\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        sent, at_answer, answer = 0, None, b""
        try:
            for i in range(40 if terminated else 20):  # 2.5 MiB, or 1.25 MiB and no end
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
                time.sleep(0.02)
                if at_answer is None and select.select([s], [], [], 0)[0]:
                    at_answer = sent
                    answer += s.recv(65536)
            if terminated:
                s.sendall(b"0\r\n\r\n")
            s.settimeout(8)
            while True:
                d = s.recv(65536)
                if not d:
                    break
                if at_answer is None:
                    at_answer = sent
                answer += d
        except OSError:
            pass
        s.close()
        st, j, lines = json_answer(answer)
        check(f"too large, chunked {name}, 413 at once", st == 413 and is_error(j) and lines == 1 and
              at_answer is not None and (not terminated or at_answer < 40 * len(chunk)), (at_answer, answer[:300]))
    # A client waiting for 100 Continue gets the 413 instead, before any body.
    cut, sent, answer = send_until_cut(port, f"Content-Length: {4 << 20}\r\nExpect: 100-continue\r\n", [])
    check("too large, expect 100-continue", answer.startswith(b"HTTP/1.1 413") and cut is not None and cut < 5,
          (cut, answer[:200]))

    def endless(piece):
        while True:
            yield piece
    # Declared far past what is ever drained: refused and cut at once.
    cut, sent, answer = send_until_cut(port, f"Content-Length: {10 << 30}\r\n", endless(b"z" * 4096), pause=0.05)
    check("too large, 10 GiB declared, cut", cut is not None and cut < 5, (cut, sent, answer[:200]))
    # Chunked without end, fast: cut after at most 64 MiB past the limit
    # (plus what the socket buffers hold).
    cut, sent, answer = send_until_cut(port, "Transfer-Encoding: chunked\r\n",
                                       endless(b"%x\r\n" % len(chunk) + chunk + b"\r\n"))
    check("too large, endless chunks, cut", cut is not None and (64 << 20) < sent < (80 << 20), (cut, sent))
    # Within the byte bound but slow (256 KiB/s): cut at the time bound.
    cut, sent, answer = send_until_cut(port, f"Content-Length: {32 << 20}\r\n", endless(chunk), pause=0.25)
    check("too large, slow body, cut", cut is not None and 9 < cut < 20, (cut, sent))
    # Silent after the headers: cut by the shorter idle timeout.
    cut, sent, answer = send_until_cut(port, f"Content-Length: {4 << 20}\r\n", [])
    check("too large, silent, cut", cut is not None and 4 < cut < 12, (cut, sent))
    st, _, body = raw(port, "GET", "/health", key=None)
    check("alive after too large", st == 200 and body.get("status") == "ok", (st, body))


def metric(port, name):
    _, _, text = raw(port, "GET", "/metrics")
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def open_stream(port, max_tokens=2000):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"prompt": "Once upon a time", "max_tokens": max_tokens, "stream": True})
    c.request("POST", "/v1/completions", body=body, headers={"Authorization": "Bearer " + KEY,
                                                            "Content-Type": "application/json"})
    # The answer says Connection: close, so http.client lets go of c.sock
    # (the response keeps reading from it): keep it to hang up with.
    c.hangup = c.sock
    return c, c.getresponse()


def wait_idle(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if metric(port, "offgrid_slots_busy") == 0 and metric(port, "offgrid_queue_length") == 0:
            return True
        time.sleep(0.1)
    return False


def test_cancel_and_queue(port):
    before = metric(port, "offgrid_cancelled_total")
    c, r = open_stream(port)
    check("stream status", r.status == 200 and r.getheader("Content-Type") == "text/event-stream", r.status)
    first = r.readline()
    check("stream first event", first.startswith(b"data: {"), first)
    c.hangup.shutdown(socket.SHUT_RDWR)
    c.close()
    check("cancelled on hang-up", wait_idle(port, 20), "slots still busy")
    check("cancel counted", metric(port, "offgrid_cancelled_total") == before + 1)

    # 2 slots and a queue of 1: the fourth concurrent stream is refused.
    conns = [open_stream(port) for _ in range(3)]
    check("queued streams", all(r.status == 200 for _, r in conns), [r.status for _, r in conns])
    st, headers, body = raw(port, "POST", "/v1/completions", {"prompt": "x", "max_tokens": 4})
    check("503 when full", st == 503 and is_error(body) and headers.get("Retry-After") == "1", (st, headers, body))
    for c, _ in conns:
        c.hangup.shutdown(socket.SHUT_RDWR)
        c.close()
    check("idle after hang-ups", wait_idle(port, 30))

    _, _, text = raw(port, "GET", "/metrics")
    for name in ("offgrid_requests_total{endpoint=\"chat_completions\",code=\"200\"}",
                 "offgrid_completion_tokens_total", "offgrid_time_to_first_token_seconds_bucket",
                 "offgrid_request_duration_seconds_bucket{endpoint=\"embeddings\"", "offgrid_rejected_total 1"):
        check("metrics " + name, name in text, name)


def test_page(port):
    """The page in headless Chromium: type, send, see the streamed answer."""
    try:
        from selenium import webdriver
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        check("page (selenium missing)", False, "pip install selenium (tools/setup.sh)")
        return
    if not os.path.exists("/usr/bin/chromedriver"):
        check("page (chromium-driver missing)", False, "apt-get install chromium chromium-driver (tools/setup.sh)")
        return
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1000,700", "--no-proxy-server"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=opts, service=service)
    try:
        driver.get(f"http://127.0.0.1:{port}/?max_tokens=40")
        check("page title", driver.title == "offgrid chat", driver.title)
        # The start screen: without the key it says how to see the model...
        WebDriverWait(driver, 20).until(lambda d: "API key" in d.find_element(By.ID, "welcome-model").text)
        key = driver.find_element(By.ID, "key")
        key.send_keys(KEY)
        driver.execute_script("arguments[0].dispatchEvent(new Event('change'))", key)
        # ... and with it, names the model loaded.
        try:
            WebDriverWait(driver, 20).until(
                lambda d: d.find_element(By.ID, "welcome-model").text == "SmolLM2-135M-Instruct.Q4_1.gguf")
            check("page start screen names the model", True)
            driver.save_screenshot(os.path.join(OUT, "server_page_start.png"))
        except Exception:
            check("page start screen names the model", False, driver.find_element(By.ID, "welcome").text)
        # The system prompt and the temperature go into the request.
        driver.execute_script("window.sentBodies=[];const f=window.fetch;window.fetch=(u,o)=>{"
                              "if(o&&o.body)window.sentBodies.push(o.body);return f(u,o);};")
        driver.find_element(By.ID, "system").send_keys("Answer in one short sentence.")
        temp = driver.find_element(By.ID, "temp")
        temp.clear()
        temp.send_keys("0")
        driver.find_element(By.ID, "in").send_keys("What is the capital of France?")
        driver.find_element(By.ID, "send").click()
        WebDriverWait(driver, 120).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".stats, .error"))
        answers = driver.find_elements(By.CSS_SELECTOR, ".assistant.done")
        stats = driver.find_elements(By.CSS_SELECTOR, ".stats")
        errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".error")]
        check("page answer", answers and answers[0].text.strip() and not errors, errors)
        check("page tokens/s", stats and "tokens/s" in stats[0].text, [s.text for s in stats])
        sent = [json.loads(b) for b in driver.execute_script("return window.sentBodies")]
        check("page sends system prompt and temperature", len(sent) == 1 and sent[0]["temperature"] == 0 and
              sent[0]["messages"][0] == {"role": "system", "content": "Answer in one short sentence."} and
              sent[0]["messages"][1]["role"] == "user", sent)
        check("page start screen gone", not driver.find_elements(By.ID, "welcome"))
        path = os.path.join(OUT, "server_page.png")
        driver.save_screenshot(path)
        check("page screenshot", os.path.getsize(path) > 1000, path)
        print(f"page screenshot: {path}")
    finally:
        driver.quit()


def test_log(proc):
    """--log: one line per request with method, path, status and time."""
    lines = [l.strip() for l in proc.log]
    check("log health", any(re.fullmatch(r"offgrid serve: GET /health 200 \d+\.\d{3} s", l) for l in lines),
          lines[-5:])
    check("log chat", any(re.fullmatch(r"offgrid serve: POST /v1/chat/completions 200 \d+\.\d{3} s", l)
                          for l in lines), lines[-5:])
    check("log gate refusal", any(l.startswith("offgrid serve: POST /v1/completions 400 ") and "Content-Length" in l
                                  for l in lines), lines[-5:])


def test_refusals():
    r = subprocess.run([OG, "serve", "-m", CHAT_MODEL, "--host", "0.0.0.0", "--port", "0"],
                       capture_output=True, text=True, timeout=60)
    check("non-loopback without key", r.returncode == 1 and "without an API key" in r.stderr, r.stderr)
    r = subprocess.run([OG, "serve", "--help"], capture_output=True, text=True, timeout=60)
    check("serve --help", r.returncode == 0 and "usage: offgrid serve" in r.stdout, r.stdout[:200])
    r = subprocess.run([OG, "serve", "--port", "99999"], capture_output=True, text=True, timeout=60)
    check("bad port", r.returncode == 2, r.stderr)


def test_shutdown():
    """SIGTERM while generating: every client gets an answer, the exit is clean."""
    proc, port = start_server("--parallel", "1", "--timeout", "2")
    # The request time limit ends a long generation early, as "length".
    t0 = time.time()
    st, _, body = raw(port, "POST", "/v1/completions", {"prompt": "1, 2, 3,", "max_tokens": 2000, "temperature": 0})
    took = time.time() - t0
    check("request time limit", st == 200 and body["choices"][0]["finish_reason"] == "length" and
          body["usage"]["completion_tokens"] < 2000 and 1.5 < took < 6, (st, took, str(body)[-200:]))
    out = {}

    def req(name, stream):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            c.request("POST", "/v1/completions", json.dumps({"prompt": "1, 2, 3,", "max_tokens": 2000,
                                                             "temperature": 0, "stream": stream}),
                      headers={"Authorization": "Bearer " + KEY})
            r = c.getresponse()
            out[name] = (r.status, r.read())
        except (OSError, http.client.HTTPException) as e:
            out[name] = (0, repr(e).encode())

    threads = [threading.Thread(target=req, args=(i, i % 2 == 0)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = "hung"
    check("shutdown clean", rc == 0 and time.time() - t0 < 10, rc)
    for t in threads:
        t.join()
    for name, (status, body) in sorted(out.items()):
        whole = (status == 200 and (body.endswith(b"data: [DONE]\n\n") or body.endswith(b"}"))) or \
                (status == 503 and b'"error"' in body)
        check(f"answer at shutdown {name}", whole, (status, body[-200:]))


def main():
    test_refusals()
    proc, port = start_server("--parallel", "2", "--queue", "1", "--max-tokens", "2048", "--log",
                              "--cors", "http://allowed.example, http://other.example:3000")
    try:
        for t in (test_sdk, test_hostile, test_gate, test_too_large, test_cancel_and_queue, test_page):
            try:
                t(port)
            except Exception as e:  # a crash of one group is a failure, not the end
                import traceback
                traceback.print_exc()
                check(t.__name__, False, repr(e))
            check(f"server alive after {t.__name__}", proc.poll() is None, proc.returncode)
        test_log(proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "hung"
        check("clean exit", rc == 0, rc)
    try:
        test_shutdown()
    except Exception as e:
        check("test_shutdown", False, repr(e))
    print(f"cli_serve: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
