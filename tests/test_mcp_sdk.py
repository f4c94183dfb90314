#!/usr/bin/env python3
"""test_mcp_sdk.py OFFGRID MODELS_DIR [--raw-only] - `offgrid mcp` end to end.

Raw pipe (standard library only): hostile lines (garbage, a batch, {}, an
unknown method, bad arguments, an unknown protocol version, a 9 MiB line,
invalid UTF-8, deep nesting) each get the JSON-RPC error they call for,
notifications and responses get nothing, and afterwards the server still
answers; every line it wrote parses as JSON and it exits 0 at end of input.

SDK (the official `mcp` package as the client, skipped with --raw-only):
mode "auto" negotiates 2026-07-28 (server/discover), the legacy handshake
2025-11-25 (initialize); in both, list the tools, embed (384 dimensions,
unit length, related sentences closer than unrelated ones, the same numbers
as `offgrid embed`), classify (a label of the model's, the same as `offgrid
classify`), search and ask (the same results as `offgrid docs search` and
`docs ask`; a missing collection is an isError result), list the documents
as resources, read an unknown one (-32602).
"""
import asyncio
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

OG, MODELS = sys.argv[1], sys.argv[2]
RAW_ONLY = "--raw-only" in sys.argv
EMBED = os.path.join(MODELS, "all-MiniLM-L6-v2.f32.gguf")
CLASSIFY = os.path.join(MODELS, "rag-intent-classifier.f32.gguf")
CHAT = os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf")
HOME = tempfile.mkdtemp(prefix="og-mcp-")
ARGS = ["mcp", "--embed-model", EMBED, "--classify-model", CLASSIFY, "--home", HOME, "-t", "2"]
CORPUS = os.path.join(HOME, "corpus")
DOCS = {
    "clinic notes.md": "# Clinic protocols\n\n## Fever in children\n\nGive paracetamol at 15 mg per kilogram every "
                       "six hours, at most four doses a day.\nRefer to the district hospital when the fever lasts more "
                       "than three days.\n\n## Dehydration\n\nOral rehydration salts: dissolve one sachet in one "
                       "litre of clean water.\n",
    "plant.txt": "The boiler pressure valve must be inspected every 500 operating hours.\n\nReplace the gasket when "
                 "the pressure drops below 8 bar during the test.\n",
}
QUESTION = "How much paracetamol can a child with fever get?"
MODERN, HANDSHAKE = "2026-07-28", "2025-11-25"

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL %s %s" % (name, str(detail)[:600]), file=sys.stderr)


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


_cli_cache = {}


def cli_json(*args):
    """What `offgrid ARGS --json` prints (run once per ARGS: answers are greedy)."""
    if args not in _cli_cache:
        env = dict(os.environ, OFFGRID_HOME=HOME)
        _cli_cache[args] = json.loads(subprocess.run([OG, *args, "--json"], check=True, capture_output=True,
                                                     text=True, env=env).stdout)
    return _cli_cache[args]


def make_collection():
    """The collection the SDK part serves: two documents, by `offgrid docs
    add`. False (and no collection) while this build's document readers
    are placeholders that refuse every file: then search and ask must be
    isError results naming the missing collection."""
    os.makedirs(CORPUS)
    for name, text in DOCS.items():
        with open(os.path.join(CORPUS, name), "w") as f:
            f.write(text)
    p = subprocess.run([OG, "docs", "add", "--embed-model", EMBED, "-t", "2", "-q", CORPUS],
                       env=dict(os.environ, OFFGRID_HOME=HOME), capture_output=True, text=True)
    if p.returncode != 0 and "cannot read plain files yet" in p.stderr:
        print("test_mcp_sdk: this build's text reader is a placeholder: no collection to serve", file=sys.stderr)
        shutil.rmtree(os.path.join(HOME, "docs"), ignore_errors=True)
        return False
    check("docs add", p.returncode == 0, p.stderr)
    return True


# ---------------------------------------------------------------- raw pipe


def raw_cases():
    p = subprocess.Popen([OG, *ARGS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []

    def send(data):
        p.stdin.write(data if isinstance(data, bytes) else data.encode())
        p.stdin.write(b"\n")
        p.stdin.flush()

    def reply():
        line = p.stdout.readline()
        lines.append(line)
        return json.loads(line)

    def expect_error(name, data, code, req_id=None, text=None):
        send(data)
        r = reply()
        err = r.get("error", {})
        ok = err.get("code") == code and r.get("id") == req_id and r.get("jsonrpc") == "2.0"
        if text:
            ok = ok and text in err.get("message", "")
        check("raw " + name, ok, r)
        return r

    def req(i, method, params=None):
        m = {"jsonrpc": "2.0", "id": i, "method": method}
        if params is not None:
            m["params"] = params
        return json.dumps(m)

    expect_error("garbage", "this is not json", -32700)
    expect_error("invalid utf-8", b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}', -32700)
    expect_error("empty batch", "[]", -32600)
    expect_error("batch", "[" + req(1, "ping") + "]", -32600, text="batch")
    expect_error("empty object", "{}", -32600)
    expect_error("a number", "42", -32600)
    expect_error("no jsonrpc", '{"id":3,"method":"ping"}', -32600, 3)
    expect_error("method not a string", '{"jsonrpc":"2.0","id":4,"method":7}', -32600, 4)
    expect_error("id an object", '{"jsonrpc":"2.0","id":{},"method":"ping"}', -32600)
    expect_error("deep nesting", "[" * 200000 + "]" * 200000, -32700)
    expect_error("unknown method", req(10, "tools/frobnicate"), -32601, 10, "tools/frobnicate")
    expect_error("params not an object", req(11, "tools/list", [1]), -32602, 11)
    expect_error("unknown tool", req(12, "tools/call", {"name": "launch", "arguments": {}}), -32602, 12, "launch")
    expect_error("embed texts not a list", req(13, "tools/call", {"name": "embed", "arguments": {"texts": "a"}}),
                 -32602, 13, "texts")
    expect_error("embed text not a string", req(14, "tools/call", {"name": "embed", "arguments": {"texts": [1]}}),
                 -32602, 14, "texts[0]")
    expect_error("classify without text", req(15, "tools/call", {"name": "classify", "arguments": {}}),
                 -32602, 15, "text")
    expect_error("unknown argument", req(16, "tools/call", {"name": "classify", "arguments": {"text": "a", "tex": 1}}),
                 -32602, 16, "tex")
    expect_error("search k too big", req(17, "tools/call", {"name": "search", "arguments": {"query": "a", "k": 51}}),
                 -32602, 17, "'k'")
    expect_error("search bad mode", req(18, "tools/call", {"name": "search", "arguments": {"query": "a", "mode": "x"}}),
                 -32602, 18, "mode")
    expect_error("arguments not an object", req(19, "tools/call", {"name": "embed", "arguments": []}), -32602, 19)
    r = expect_error("unknown version", req(20, "tools/list", {"_meta": {"io.modelcontextprotocol/protocolVersion":
                                                                        "2099-01-01"}}), -32022, 20)
    data = r.get("error", {}).get("data", {})
    check("raw unknown version data", MODERN in data.get("supported", []) and HANDSHAKE in data.get("supported", [])
          and data.get("requested") == "2099-01-01", data)
    expect_error("read unknown resource", req(21, "resources/read", {"uri": "offgrid://docs/default/nope"}),
                 -32602, 21, "unknown resource")
    expect_error("initialize without version", req(22, "initialize", {}), -32602, 22)
    # 9 MiB: over the 8 MiB bound, answered once, then the stream resyncs.
    expect_error("9 MiB line", '{"jsonrpc":"2.0","id":23,"method":"ping","params":{"x":"' + "a" * (9 << 20) + '"}}',
                 -32600, None, "longer than")
    # Neither a notification nor a response gets an answer: the next line
    # read is the ping's.
    send('{"jsonrpc":"2.0","method":"notifications/initialized"}')
    send('{"jsonrpc":"2.0","method":"no/such/notification","params":{}}')
    send('{"jsonrpc":"2.0","id":99,"result":{}}')
    send("")
    send(req(30, "ping"))
    r = reply()
    check("raw alive after all", r == {"jsonrpc": "2.0", "id": 30, "result": {}}, r)
    send(req("s-31", "initialize", {"protocolVersion": "1999-01-01", "capabilities": {},
                                    "clientInfo": {"name": "raw", "version": "0"}}))
    r = reply()
    check("raw initialize unknown version -> 2025-11-25", r.get("id") == "s-31" and
          r.get("result", {}).get("protocolVersion") == HANDSHAKE, r)
    # A modern request: resultType and the cache hints on a list.
    send(req(32, "tools/list", {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}}))
    r = reply().get("result", {})
    check("raw modern tools/list", r.get("resultType") == "complete" and r.get("cacheScope") == "public" and
          r.get("ttlMs") == 0 and sorted(t["name"] for t in r.get("tools", [])) == ["classify", "embed", "search"], r)
    send(req(33, "tools/list"))
    r = reply().get("result", {})
    check("raw legacy tools/list has no era fields", "resultType" not in r and "cacheScope" not in r, r)
    p.stdin.close()
    rest = p.stdout.read()
    rc = p.wait(timeout=60)
    check("raw no reply after the last request", rest == b"", rest[:200])
    check("raw exit 0 at end of input", rc == 0, p.stderr.read()[-500:])
    bad = [l for l in lines if not l.endswith(b"\n")]
    for l in lines:
        try:
            json.loads(l)
        except ValueError:
            bad.append(l)
    check("raw every line is JSON", not bad and len(lines) == 28, (len(lines), bad[:2]))

    # Without models, only what needs none is listed (nothing), and a tool
    # whose model is not configured is an unknown tool.
    p = subprocess.run([OG, "mcp", "--home", HOME], input=(req(1, "tools/list") + "\n" +
                       req(2, "tools/call", {"name": "embed", "arguments": {"texts": ["a"]}}) + "\n").encode(),
                       capture_output=True, timeout=60)
    out = [json.loads(l) for l in p.stdout.splitlines()]
    check("raw no models: no tools", p.returncode == 0 and len(out) == 2 and out[0]["result"]["tools"] == [], out)
    check("raw no models: embed unknown", out[1].get("error", {}).get("code") == -32602, out)


# --------------------------------------------------------------------- SDK


async def exercise(c, era, real):
    """The same calls through an SDK session; c has list_tools, call_tool..."""
    tools = {t.name: t for t in (await c.list_tools()).tools}
    check(era + " tools", sorted(tools) == ["ask", "classify", "embed", "search"], list(tools))
    check(era + " search schema", tools["search"].input_schema.get("required") == ["query"],
          tools["search"].input_schema)

    texts = ["A cat sat on the mat.", "A kitten was sitting on the rug.", "Quarterly tax filings are due in April."]
    r = await c.call_tool("embed", {"texts": texts})
    s = r.structured_content or {}
    vecs = [d["embedding"] for d in s.get("data", [])]
    check(era + " embed shape", not r.is_error and s.get("dim") == 384 and len(vecs) == 3 and
          all(len(v) == 384 for v in vecs), s.get("dim"))
    if len(vecs) == 3:
        check(era + " embed unit length", all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-5 for v in vecs))
        related, unrelated = cosine(vecs[0], vecs[1]), cosine(vecs[0], vecs[2])
        check(era + " embed related closer", related > unrelated + 0.3, (related, unrelated))
        cli = cli_json("embed", "-m", EMBED, "-p", texts[0])["data"][0]["embedding"]
        check(era + " embed equals offgrid embed", max(abs(a - b) for a, b in zip(cli, vecs[0])) < 1e-6)
    check(era + " embed text is the JSON", json.loads(r.content[0].text) == s)

    r = await c.call_tool("classify", {"text": "hello there, how are you?"})
    s = r.structured_content or {}
    cli = cli_json("classify", "-m", CLASSIFY, "-p", "hello there, how are you?")[0]
    check(era + " classify label", not r.is_error and s.get("label") == cli["label"] == "greeting" and
          abs(s.get("probability", 0) - cli["probability"]) < 1e-6, (s.get("label"), s.get("probability")))
    check(era + " classify labels", set(s.get("probabilities", {})) == set(cli["probabilities"]) and
          abs(sum(s["probabilities"].values()) - 1) < 1e-4 and s["top"][0]["label"] == s["label"])

    if real:
        await documents(c, era)
    else:
        for tool, args in (("search", {"query": QUESTION}), ("ask", {"question": QUESTION})):
            r = await c.call_tool(tool, args)
            text = r.content[0].text if r.content else ""
            check(era + " %s without a collection is an error result" % tool,
                  r.is_error and "no collection named 'default'" in text, text)
        res = (await c.list_resources()).resources
        check(era + " resources (no collection)", res == [], res)
    r = await c.call_tool("search", {"query": "x", "collection": "nope"})
    text = r.content[0].text if r.content else ""
    check(era + " search in a missing collection is an error result", r.is_error and "'nope'" in text, text)
    try:
        await c.read_resource("offgrid://docs/default/home/nobody/a.pdf")
        check(era + " read unknown resource", False, "no error")
    except MCPError as e:
        check(era + " read unknown resource", e.code == -32602 and "unknown resource" in e.message, e.message)


async def documents(c, era):
    """search, ask and resources on the real collection."""
    r = await c.call_tool("search", {"query": QUESTION, "k": 3})
    s = r.structured_content or {}
    cli = cli_json("docs", "search", "--embed-model", EMBED, "-t", "2", "-k", "3", QUESTION)["results"]
    hits = s.get("results", [])
    same = len(hits) == len(cli) > 0 and all(
        {k: h[k] for k in ("doc", "page", "start", "end", "heading", "text")} ==
        {k: g[k] for k in ("doc", "page", "start", "end", "heading", "text")} and abs(h["score"] - g["score"]) < 1e-6
        for h, g in zip(hits, cli))
    check(era + " search equals offgrid docs search", not r.is_error and same, (hits[:1], cli[:1]))
    check(era + " search finds the dose", hits and hits[0]["doc"].endswith("clinic notes.md") and
          "paracetamol" in hits[0]["text"], hits[:1])
    r = await c.call_tool("ask", {"question": QUESTION})
    s = r.structured_content or {}
    cli = cli_json("docs", "ask", "--embed-model", EMBED, "-t", "2", "-m", CHAT, QUESTION)
    check(era + " ask equals offgrid docs ask", not r.is_error and s == cli, (s, cli))
    check(era + " ask cites the clinic notes", not s.get("nothing_relevant") and s.get("answer") and
          all(src["doc"].endswith(("clinic notes.md", "plant.txt")) for src in s.get("sources", [])), s)

    res = (await c.list_resources()).resources
    want = {"offgrid://docs/default" + os.path.join(CORPUS, n).replace(" ", "%20") for n in DOCS}
    check(era + " resources are the documents", {str(x.uri) for x in res} == want and
          {x.name for x in res} == set(DOCS), [(str(x.uri), x.name) for x in res])
    clinic = [x for x in res if x.name == "clinic notes.md"]
    if clinic:
        got = (await c.read_resource(clinic[0].uri)).contents
        text = got[0].text if got else ""
        check(era + " read a document's text", "paracetamol" in text and
              text == open(os.path.join(CORPUS, "clinic notes.md"), encoding="utf-8").read().replace("\r\n", "\n"),
              text[:200])


async def sdk_cases():
    real = make_collection()
    params = StdioServerParameters(command=OG, args=ARGS + ["-m", CHAT], env={"OFFGRID_CACHE_DIR":
                                                               os.environ.get("OFFGRID_CACHE_DIR", "off")})
    async with Client(params, mode="auto") as c:
        check("auto negotiates 2026-07-28", c.protocol_version == MODERN, c.protocol_version)
        check("auto server info", c.server_info is not None and c.server_info.name == "offgrid", c.server_info)
        await exercise(c, "auto", real)
    async with Client(params, mode="legacy") as c:
        check("legacy negotiates 2025-11-25", c.protocol_version == HANDSHAKE, c.protocol_version)
        await exercise(c, "legacy", real)
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            init = await s.initialize()
            check("session initialize", init.protocol_version == HANDSHAKE and init.server_info.name == "offgrid",
                  init.protocol_version)
            await exercise(s, "session", real)


raw_cases()
if not RAW_ONLY:
    from mcp import Client, ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.shared.exceptions import MCPError

    asyncio.run(sdk_cases())
print("test_mcp_sdk: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
