#!/usr/bin/env bash
# compare.sh - offgrid against llama.cpp on one model file.
#
#   LLAMA_CPP=/path/to/llama.cpp/build/bin bench/compare.sh MODEL [THREADS...]
#
# For each thread count (default: 1 2) runs `offgrid bench` and
# `llama-bench` alternately (A B A B ...), ROUNDS times each, with the same
# tests (pp512, tg128, REPS repetitions after a warm-up), and prints per
# metric offgrid, llama.cpp and their ratio. Alternating spreads drifts of a
# shared machine over both tools; compare numbers only within one run.
#
# Also prints:
#  - the generation roofline: weight bytes read per token (the tensor data
#    of the file) against the read bandwidth bench/membw measures, and the
#    share of it tg reaches. The probe runs in every round, just before
#    offgrid's runs at that thread count, and each round's tg is set against
#    its own probe: on a shared VM the bandwidth moves with where the host
#    puts the vCPUs, and one probe at the start would judge later rounds
#    against another machine. The probe's buffer (1 GiB) is 32 times the
#    L3; since the probe's threads clock their own reads (before, a small
#    buffer made two threads look up to 5x faster), any size from 128 MiB
#    to 2 GiB reads alike: 31-36 GB/s from one thread, 34-47 from two
#    (apart from spells of 50-71 that last seconds: the host's doing);
#  - time to first token: wall time of `offgrid run -p PROMPT -n 1 --temp 0`
#    vs `llama-cli ... -n 1 --temp 0 -no-cnv` (same threads) and
#    `llama-simple -n 1` (its fixed 4 threads), alternating, from process
#    start to exit (-n 1 makes exit follow the first token), and the peak RSS
#    of each (per child, via wait4). offgrid keeps its repacked weights in
#    its cache (OFFGRID_CACHE_DIR, default ~/.cache/offgrid/packed), which
#    the bench runs before have filled, so `offgrid run` maps them as both
#    programs map the model; `offgrid run, no cache` repacks them in memory
#    each time, as the first load of a file does.
#
# Environment: LLAMA_CPP (required), OFFGRID (default build/bin/offgrid of
# this tree), ROUNDS (3), REPS (5), N_PROMPT (512), N_GEN (128),
# MEMBW_MIB (1024), OUT_DIR (keep the raw JSON there).
set -euo pipefail

die() { echo "compare.sh: $*" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 1 ] || die "usage: LLAMA_CPP=/path/to/llama.cpp/build/bin $0 MODEL [THREADS...]"
model=$1
shift
threads=("$@")
[ ${#threads[@]} -gt 0 ] || threads=(1 2)
for t in "${threads[@]}"; do
    [[ $t =~ ^[1-9][0-9]*$ ]] || die "thread counts must be positive whole numbers, got '$t'"
done
[ -f "$model" ] || die "no such model file: $model"
[ -n "${LLAMA_CPP:-}" ] || die "set LLAMA_CPP to llama.cpp's binary directory (e.g. /tmp/llama.cpp/build/bin)"
[ -x "$LLAMA_CPP/llama-bench" ] || die "$LLAMA_CPP/llama-bench is missing or not executable"
for b in llama-cli llama-simple; do
    [ -x "$LLAMA_CPP/$b" ] || echo "compare.sh: $LLAMA_CPP/$b is missing; its TTFT column is skipped" >&2
done
OFFGRID=${OFFGRID:-$root/build/bin/offgrid}
[ -x "$OFFGRID" ] || die "offgrid binary not found at $OFFGRID (build it or set OFFGRID=)"
command -v python3 >/dev/null || die "python3 is required"
cc=${CC:-cc}
command -v "$cc" >/dev/null || die "a C compiler ($cc) is needed to build bench/membw.c"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cc" -O2 -march=native -pthread "$root/bench/membw.c" -o "$work/membw" || die "cannot build bench/membw.c"

export OFFGRID MODEL="$model" THREADS="${threads[*]}" MEMBW="$work/membw"
exec python3 - <<'PY'
import json, os, statistics, subprocess, sys, time

env = os.environ
OFFGRID, LLAMA, MODEL = env["OFFGRID"], env["LLAMA_CPP"], env["MODEL"]
THREADS = [int(t) for t in env["THREADS"].split()]
ROUNDS, REPS = int(env.get("ROUNDS", "3")), int(env.get("REPS", "5"))
N_PROMPT, N_GEN = int(env.get("N_PROMPT", "512")), int(env.get("N_GEN", "128"))
OUT_DIR = env.get("OUT_DIR")
PROMPT = ("The history of the lighthouse is a story of light, stone and patience. Long before electricity, "
          "keepers climbed narrow stairs every evening to trim the wicks and polish the lenses, so that ships "
          "far out at sea could find their way home through the storms of the northern coast.")

def log(*a):
    print("compare.sh:", *a, file=sys.stderr, flush=True)

def run(cmd, what):
    """Runs cmd; returns (stdout, wall seconds); exits with its stderr if it fails."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"compare.sh: {what} failed (exit {p.returncode}):\n  {' '.join(cmd)}\n"
                 + err.decode(errors="replace")[-1500:])
    return out.decode(errors="replace"), wall

def run_rss(cmd, what, env=None):
    """Runs cmd with output discarded and reaps it with wait4, which gives this
    child's own peak RSS (RUSAGE_CHILDREN would be a maximum over all)."""
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.devnull, os.O_RDWR)
            os.dup2(fd, 0); os.dup2(fd, 1); os.dup2(fd, 2)
            os.execve(cmd[0], cmd, {**os.environ, **(env or {})})
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"compare.sh: {what} failed (exit {os.waitstatus_to_exitcode(status)}):\n  {' '.join(cmd)}")
    return wall, ru.ru_maxrss * 1024  # kilobytes on Linux

def save(name, text):
    if OUT_DIR:
        os.makedirs(OUT_DIR, exist_ok=True)
        with open(os.path.join(OUT_DIR, name), "w") as f:
            f.write(text)

# --- memory bandwidth
def probe(t, r):
    """Read bandwidth from t threads, in bytes/s (membw measures 1..t)."""
    out, _ = run([env["MEMBW"], env.get("MEMBW_MIB", "1024"), str(t)], "membw")
    save(f"membw-t{t}-r{r}.txt", out)
    for line in out.splitlines():
        f = dict(kv.split("=") for kv in line.split()[1:])
        if int(f["threads"]) == t:
            return float(f["GB/s"]) * 1e9
    sys.exit(f"compare.sh: membw printed no figure for {t} threads:\n{out}")

# --- throughput, alternating
og = {t: [] for t in THREADS}
lc = {t: [] for t in THREADS}
bw = {t: [] for t in THREADS}
model_bytes = None
for r in range(ROUNDS):
    for t in THREADS:
        log(f"round {r + 1}/{ROUNDS}, {t} thread(s): membw")
        bw[t].append(probe(t, r))
        log(f"round {r + 1}/{ROUNDS}, {t} thread(s): offgrid bench")
        out, _ = run([OFFGRID, "bench", "-m", MODEL, "-p", str(N_PROMPT), "-n", str(N_GEN), "-t", str(t),
                      "-r", str(REPS), "--json"], "offgrid bench")
        save(f"offgrid-t{t}-r{r}.json", out)
        j = json.loads(out)
        model_bytes = j["model_bytes"]
        og[t].append({"pp": j["pp"]["avg_ts"], "tg": j["tg"]["avg_ts"]})
        log(f"round {r + 1}/{ROUNDS}, {t} thread(s): llama-bench")
        out, _ = run([os.path.join(LLAMA, "llama-bench"), "-m", MODEL, "-p", str(N_PROMPT), "-n", str(N_GEN),
                      "-t", str(t), "-r", str(REPS), "-o", "json"], "llama-bench")
        save(f"llama-t{t}-r{r}.json", out)
        rec = {}
        for test in json.loads(out):
            rec["pp" if test["n_gen"] == 0 else "tg"] = test["avg_ts"]
        lc[t].append(rec)

def fmt(xs):
    m = statistics.mean(xs)
    return f"{m:9.2f} ± {statistics.stdev(xs):6.2f}" if len(xs) > 1 else f"{m:9.2f}         "

print(f"model: {MODEL}")
print(f"weights read per token: {model_bytes / 2**20:.2f} MiB; {ROUNDS} alternating rounds, "
      f"{REPS} reps each; t/s = mean ± sd over rounds\n")
print("| test   | threads | offgrid t/s        | llama.cpp t/s      | ratio og/lc | per-round ratios |")
print("| ------ | ------: | -----------------: | -----------------: | ----------: | ---------------- |")
for t in THREADS:
    for key, name in (("pp", f"pp{N_PROMPT}"), ("tg", f"tg{N_GEN}")):
        a = [x[key] for x in og[t]]
        b = [x[key] for x in lc[t]]
        per = " ".join(f"{x / y:.2f}" for x, y in zip(a, b))
        print(f"| {name:6} | {t:7} | {fmt(a)} | {fmt(b)} | {statistics.mean(a) / statistics.mean(b):11.2f} | {per} |")

print("\ngeneration roofline (tg t/s ceiling = read bandwidth / weight bytes per token), each round against "
      "the probe run just before it:")
print("| threads | membw GB/s (per round) | offgrid tg | % roofline (per round) | llama.cpp tg | % roofline |")
print("| ------: | ---------------------: | ---------: | ---------------------: | -----------: | ---------: |")
for t in THREADS:
    og_pct = [100 * x["tg"] * model_bytes / b for x, b in zip(og[t], bw[t])]
    lc_pct = [100 * x["tg"] * model_bytes / b for x, b in zip(lc[t], bw[t])]
    probes = " ".join(f"{b / 1e9:.1f}" for b in bw[t])
    per = " ".join(f"{p:.0f}" for p in og_pct)
    print(f"| {t:7} | {probes:>22} | {statistics.mean(x['tg'] for x in og[t]):10.2f} "
          f"| {statistics.mean(og_pct):5.1f}% ({per}) | {statistics.mean(x['tg'] for x in lc[t]):12.2f} "
          f"| {statistics.mean(lc_pct):9.1f}% |")

# --- time to first token, alternating
t = max(THREADS)
og_run = [OFFGRID, "run", "-m", MODEL, "-p", PROMPT, "-n", "1", "--temp", "0", "-t", str(t)]
cmds = {"offgrid run": og_run, "offgrid run, no cache": og_run}
envs = {"offgrid run, no cache": {"OFFGRID_CACHE_DIR": "off"}}
if os.access(os.path.join(LLAMA, "llama-cli"), os.X_OK):
    cmds["llama-cli"] = [os.path.join(LLAMA, "llama-cli"), "-m", MODEL, "-p", PROMPT, "-n", "1", "--temp", "0",
                         "-t", str(t), "-no-cnv", "--no-display-prompt"]
if os.access(os.path.join(LLAMA, "llama-simple"), os.X_OK):
    cmds["llama-simple"] = [os.path.join(LLAMA, "llama-simple"), "-m", MODEL, "-n", "1", PROMPT]
walls = {k: [] for k in cmds}
rss = {k: 0 for k in cmds}
for r in range(max(ROUNDS, 3)):
    for name, cmd in cmds.items():
        log(f"TTFT round {r + 1}: {name}")
        w, m = run_rss(cmd, name, envs.get(name))
        walls[name].append(w)
        rss[name] = max(rss[name], m)
base = statistics.median(walls["offgrid run"])
print(f"\ntime to first token: process start to exit with -n 1, {len(PROMPT)}-character prompt, "
      f"median of {len(walls['offgrid run'])} alternating runs ({t} thread(s); llama-simple always uses 4)")
print("| program               | median ms | min ms  | peak RSS MiB | offgrid time / this |")
print("| --------------------- | --------: | ------: | -----------: | ------------------: |")
for name in cmds:
    med = statistics.median(walls[name])
    print(f"| {name:21} | {med * 1e3:9.1f} | {min(walls[name]) * 1e3:7.1f} | {rss[name] / 2**20:12.1f} "
          f"| {base / med:19.2f} |")
PY
