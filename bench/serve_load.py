#!/usr/bin/env python3
"""serve_load.py - a bounded load test of `offgrid serve` on loopback.

Starts the server (or uses --port of one already running, with --pid to
watch its memory), then runs CLIENTS concurrent streaming chat clients for
DURATION seconds, each sending requests back to back. Every request must
succeed: a 200, a stream ending in [DONE], and usage counts. Prints
requests/s, generated tokens/s, first-token latency percentiles (queueing
included) and the server's resident memory over the run.

  bench/serve_load.py -m models/SmolLM2-135M-Instruct.Q4_1.gguf --clients 16 --duration 180

Traffic goes to 127.0.0.1 only; the run is bounded by --duration (at
most 600 s) and stops by itself.
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

PROMPTS = [
    "Write a short poem about the sea.",
    "What is the capital of France?",
    "Explain what a CPU cache is in two sentences.",
    "Give three tips for learning a new language.",
    "Tell me a very short story about a robot.",
    "Why is the sky blue?",
]


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def one_request(port, key, i, max_tokens):
    body = json.dumps({"messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
                       "max_tokens": max_tokens, "temperature": 0.8, "seed": i, "stream": True,
                       "stream_options": {"include_usage": True}})
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        c.request("POST", "/v1/chat/completions", body=body, headers=headers)
        r = c.getresponse()
        if r.status != 200:
            return {"ok": False, "why": f"status {r.status}: {r.read()[:200]!r}"}
        first, tokens, done = None, None, False
        while True:
            line = r.readline()
            if not line:
                break
            if not line.startswith(b"data: "):
                continue
            data = line[6:].strip()
            if data == b"[DONE]":
                done = True
                break
            j = json.loads(data)
            if j.get("usage"):
                tokens = j["usage"]["completion_tokens"]
            for ch in j.get("choices", []):
                if ch.get("delta", {}).get("content") and first is None:
                    first = time.monotonic() - t0
        if not done or tokens is None:
            return {"ok": False, "why": "stream ended early"}
        return {"ok": True, "ttft": first if first is not None else time.monotonic() - t0,
                "tokens": tokens, "seconds": time.monotonic() - t0}
    except (OSError, http.client.HTTPException, ValueError) as e:
        return {"ok": False, "why": repr(e)}
    finally:
        c.close()


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-m", "--model", help="start `offgrid serve -m MODEL` (else --port)")
    ap.add_argument("--offgrid", default="build/bin/offgrid")
    ap.add_argument("--port", type=int, help="a server already running on 127.0.0.1")
    ap.add_argument("--pid", type=int, help="its process id, to watch its memory")
    ap.add_argument("--key", default=None)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--duration", type=float, default=180)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--parallel", type=int, default=2)
    a = ap.parse_args()
    a.duration = min(a.duration, 600)
    a.clients = max(1, min(a.clients, 256))
    proc = None
    pid, port = a.pid, a.port
    if a.model:
        proc = subprocess.Popen([a.offgrid, "serve", "-m", a.model, "--port", "0", "--parallel", str(a.parallel),
                                 "--queue", str(a.clients), "--ctx", "1024"], stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            sys.exit("the server did not start")
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        pid = proc.pid
    if port is None:
        sys.exit("give -m MODEL or --port PORT")

    results, lock = [], threading.Lock()
    stop_at = time.monotonic() + a.duration
    counter = [0]

    def client():
        while time.monotonic() < stop_at:
            with lock:
                i = counter[0]
                counter[0] += 1
            r = one_request(port, a.key, i, a.max_tokens)
            with lock:
                results.append(r)

    rss = []
    t0 = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(a.clients)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        if pid:
            v = rss_kib(pid)
            if v:
                rss.append((time.monotonic() - t0, v))
        time.sleep(2)
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    if proc:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

    ok = [r for r in results if r["ok"]]
    bad = [r for r in results if not r["ok"]]
    ttft = [r["ttft"] for r in ok]
    tokens = sum(r["tokens"] for r in ok)
    print(f"clients {a.clients}, slots {a.parallel}, max_tokens {a.max_tokens}, {wall:.0f} s")
    print(f"requests: {len(results)} ({len(bad)} failed), {len(ok) / wall:.2f} requests/s")
    print(f"generated tokens: {tokens}, {tokens / wall:.1f} tokens/s")
    print(f"first-token latency (s): p50 {pct(ttft, 50):.3f}  p95 {pct(ttft, 95):.3f}  p99 {pct(ttft, 99):.3f}")
    if rss:
        third = max(1, len(rss) // 3)
        early = max(v for _, v in rss[:third])
        late = max(v for _, v in rss[-third:])
        print(f"server RSS (MiB): start {rss[0][1] / 1024:.1f}, max of first third {early / 1024:.1f}, "
              f"max of last third {late / 1024:.1f}, peak {max(v for _, v in rss) / 1024:.1f}")
    for r in bad[:5]:
        print("failure:", r["why"])
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
