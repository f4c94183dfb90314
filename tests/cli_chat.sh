#!/usr/bin/env bash
# cli_chat.sh OFFGRID SHARED_MODELS MODELS_DIR - the chat session as a
# person uses it, on SmolLM2 (greedy, so answers are exact): slash
# commands are commands, /clear and /set change what the model sees, the
# repetition penalty is on by default, Ctrl-C stops an answer and a
# second one at the prompt leaves (through a pipe, and through a real
# terminal for `run MODEL`), encoders get pointed to embed/classify.
set -u
og=$1 models=$3
. "$(dirname "$0")/testlib/cli.sh"

smollm2=$models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$smollm2" ]; then
    echo "FAIL $smollm2 is missing (run tools/setup.sh --models)" >&2
    exit 1
fi

# check NAME command...: passes when the command succeeds.
check() {
    local name=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name" >&2
    fi
}

# session NAME INPUT ARGS...: pipes INPUT into `offgrid chat ARGS`; its
# stdout and stderr end up in $tmp/NAME.out and $tmp/NAME.err.
session() {
    local name=$1 input=$2
    shift 2
    printf '%s' "$input" | "$og" chat -m "$smollm2" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
}

yes_no="Reply with one word: yes or no."
# The greedy answer to it ends the turn by itself.
"$og" chat -m "$smollm2" --temp 0 -n 24 -p "$yes_no" >"$tmp/yes" 2>/dev/null
check "greedy one-shot answer" test "$(cat "$tmp/yes")" = "Yes."

# `chat MODEL` names the model as `run MODEL` does; --json gives each
# answer as one JSON line.
same_json='{"content": "Yes.", "finish_reason": "eog", "prompt_tokens": 40, "cached_tokens": 0, "completion_tokens": 2}'
"$og" chat "$smollm2" --temp 0 -p "$yes_no" --json >"$tmp/json" 2>"$tmp/json.err"
check "chat MODEL --json" test "$(cat "$tmp/json")" = "$same_json"
session json2 $'Say hello.\n/clear\n'"$yes_no"$'\n' --temp 0 -n 8 --json
check "--json in a session: one line an answer" test "$(sed -n 2p "$tmp/json2.out")" = "$same_json"
check "--json in a session: a cut answer" grep -q '"finish_reason": "length", .*"completion_tokens": 8}$' "$tmp/json2.out"
expect "chat: the model twice" 2 "give the model once: as MODEL or with -m, not both" -- \
    "$og" chat "$smollm2" -m "$smollm2" -p hi
expect "chat: no model" 2 "-m MODEL is required (or name it first: offgrid chat MODEL)" -- "$og" chat -p hi

# Slash commands are not messages: only the one question is answered,
# and nothing after /bye is.
session cmds $'/help\n/foo\n/set temperature abc\n/set temperature 0\n'"$yes_no"$'\n/bye\nSay hello.\n' --temp 0.9 -n 24
check "commands: one answer" test "$(cat "$tmp/cmds.out")" = "Yes."
check "/help lists the commands" grep -q "/set system TEXT" "$tmp/cmds.err"
check "unknown command" grep -qF "unknown command '/foo' (/help lists the commands)" "$tmp/cmds.err"
check "/set temperature checks its number" grep -qF "/set temperature expects a number from 0 to 100, got 'abc'" \
    "$tmp/cmds.err"

# /set system gives the answer -s gives.
"$og" chat -m "$smollm2" --temp 0 -n 24 -s "You are a pirate." -p "Say hello." >"$tmp/pirate" 2>/dev/null
session sys $'/set system You are a pirate.\nSay hello.\n' --temp 0 -n 24
check "/set system is the system message" cmp -s "$tmp/sys.out" "$tmp/pirate"
check "/set system answers differ from none" test "$(cat "$tmp/pirate")" != "$(cat "$tmp/yes")"

# /clear forgets the conversation: the second answer is the one-shot one.
session clear $'Say hello.\n/clear\n'"$yes_no"$'\n' --temp 0 -n 24
check "/clear" test "$(sed -n 2p "$tmp/clear.out")" = "Yes."
check "/clear says so" grep -q "Cleared the conversation" "$tmp/clear.err"

# Without a repetition penalty SmolLM2 tells the same joke twice, word
# for word; the default penalty (1.1) makes the second one new.
session joke1 $'Tell me a joke.\nTell me another one.\n' --temp 0 -n 40 --repeat-penalty 1
check "no penalty: the joke repeats" test "$(sed -n 1,3p "$tmp/joke1.out")" = "$(sed -n 4,6p "$tmp/joke1.out")"
session joke $'Tell me a joke.\nTell me another one.\n' --temp 0 -n 40
check "default penalty: a new joke" test "$(sed -n 1p "$tmp/joke.out")" != "$(sed -n 2p "$tmp/joke.out")"
check "default penalty: exact" test "$(sed -n 2p "$tmp/joke.out")" = \
    "Why does the vampire have to eat every day? Because they're a lazy person who just eats every day."

# The default answer length is stated, and a cut answer says so.
expect "chat --help states the length" 0 "most tokens per answer, -1 = until end of turn (default: 512)" -- \
    "$og" chat --help
expect "a cut answer says so" 0 "[cut at 4 tokens; -n sets the length of an answer]" -- \
    "$og" chat -m "$smollm2" --temp 0 -n 4 -p "Say hello."

# `run MODEL` without a prompt is the same session.
printf '%s\n' "$yes_no" | "$og" run "$smollm2" --temp 0 >"$tmp/run_chat" 2>"$tmp/run_chat.err"
check "run MODEL chats" test "$(cat "$tmp/run_chat")" = "Yes."
expect "run --ids needs a prompt" 2 "--ids needs a prompt (PROMPT or -p TEXT); without one, run starts a chat" -- \
    "$og" run "$smollm2" --ids

# Ctrl-C through a pipe: the first stops a long answer, the session goes
# on (/clear, then an exact answer), one at the prompt leaves with 0.
python3 - "$og" "$smollm2" "$yes_no" <<'EOF'
import os, signal, subprocess, sys, threading, time
og, model, question = sys.argv[1:4]
p = subprocess.Popen([og, "chat", "-m", model, "--temp", "0", "-n", "2000"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out, err = bytearray(), bytearray()
def pump(stream, buf):
    while True:
        b = stream.read1(4096)
        if not b:
            return
        buf.extend(b)
threads = [threading.Thread(target=pump, args=(p.stdout, out), daemon=True),
           threading.Thread(target=pump, args=(p.stderr, err), daemon=True)]
for t in threads:
    t.start()
# A generous bound: the machine may be shared; nothing here measures speed.
def wait_for(what, buf, seconds=120):
    end = time.time() + seconds
    while what not in buf:
        if time.time() > end or p.poll() is not None:
            p.kill()
            sys.exit("FAIL ctrl-c: no %r; stdout %r, stderr %r" % (what, bytes(out[-300:]), bytes(err[-300:])))
        time.sleep(0.02)
p.stdin.write(b"Write a very long story about a dragon.\n"); p.stdin.flush()
wait_for(b" ", out)
p.send_signal(signal.SIGINT)
wait_for(b"[stopped]", err)
if p.poll() is not None:
    sys.exit("FAIL ctrl-c: the first Ctrl-C ended the session")
story = len(out)
p.stdin.write(b"/clear\n" + question.encode() + b"\n"); p.stdin.flush()
wait_for(b"\nYes.\n", out)
p.send_signal(signal.SIGINT)  # at the prompt (or on its way there), stdin still open
try:
    rc = p.wait(60)
except subprocess.TimeoutExpired:
    p.kill()
    sys.exit("FAIL ctrl-c: Ctrl-C at the prompt did not leave")
for t in threads:
    t.join(5)
if rc != 0 or not out.endswith(b"\nYes.\n") or b"offgrid chat:" in err:
    sys.exit("FAIL ctrl-c: exit %d, stdout %r, stderr %r" % (rc, bytes(out[-200:]), bytes(err)))
EOF
check "ctrl-c through a pipe" test $? -eq 0

# Ctrl-C in a real terminal: `run MODEL` prompts, answers, and the
# terminal's ^C at the prompt ends it.
python3 - "$og" "$smollm2" "$yes_no" <<'EOF'
import os, pty, select, sys, time
og, model, question = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.execv(og, [og, "run", model, "--temp", "0", "-n", "24"])
buf = bytearray()
def read_some():
    """What the terminal shows within a second (b"" when nothing)."""
    if not select.select([fd], [], [], 1)[0]:
        return b""
    try:
        return os.read(fd, 4096) or None
    except OSError:
        return None
def wait_for(what, since=0, seconds=120):
    """Reads until what appears at or after offset since; its end."""
    end = time.time() + seconds
    while buf.find(what, since) < 0:
        if time.time() > end:
            os.kill(pid, 9)
            sys.exit("FAIL pty: no %r in %r" % (what, bytes(buf[-400:])))
        chunk = read_some()
        if chunk is None:
            os.kill(pid, 9)
            sys.exit("FAIL pty: ended early: %r" % bytes(buf[-400:]))
        buf.extend(chunk)
    return buf.find(what, since) + len(what)
at = wait_for(b"/help lists the commands")
at = wait_for(b"> ", at)
os.write(fd, question.encode() + b"\n")
at = wait_for(b"\r\nYes.\r\n", at)
at = wait_for(b"tokens in", at)  # the timing line, then the next prompt
at = wait_for(b"> ", at, 30)
os.write(fd, b"\x03")  # the terminal turns it into SIGINT
end = time.time() + 60
while time.time() < end:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    read_some()
else:
    os.kill(pid, 9)
    sys.exit("FAIL pty: ^C at the prompt did not leave")
if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
    sys.exit("FAIL pty: status %d" % status)
EOF
check "ctrl-c in a terminal" test $? -eq 0

# A line that never ends is refused at 16 MiB, not read into memory forever.
head -c $((17 << 20)) /dev/zero | tr '\0' a | "$og" chat -m "$smollm2" -n 1 >"$tmp/huge" 2>"$tmp/huge.err"
check "an endless line is refused" test $? -eq 1
check "an endless line is named" grep -q "cannot read a message from stdin: a line longer than 16 MiB" "$tmp/huge.err"

# Encoders: the CLI user is sent to embed/classify, not to a C function.
for enc in all-MiniLM-L6-v2.f32.gguf rag-intent-classifier.f32.gguf; do
    [ -f "$models/$enc" ] || { fail=$((fail + 1)); echo "FAIL $models/$enc is missing" >&2; continue; }
    expect "chat -m $enc" 1 "use \`offgrid embed -m MODEL -p TEXT\`, or \`offgrid classify" -- \
        "$og" chat -m "$models/$enc" -p hi
    check "chat -m $enc names no function" bash -c "! grep -q og_encoder_new '$tmp/err'"
    expect "run -m $enc" 1 "is an encoder model ('bert')" -- "$og" run -m "$models/$enc" -p hi
done

# A prompt longer than the context: the error, and no speed made up.
long=$(printf 'hello world %.0s' $(seq 100))
expect "run: over-long prompt" 1 "the prompt has 201 tokens; the context holds 64" -- \
    "$og" run -m "$smollm2" -c 64 -p "$long"
check "run: over-long prompt prints no speed" bash -c "! grep -q 'tokens/s' '$tmp/err'"
expect "chat: over-long prompt" 1 "no longer fits in the context of 64" -- "$og" chat -m "$smollm2" -c 64 -p "$long"
check "chat: over-long prompt prints no speed" bash -c "! grep -q 'tokens/s' '$tmp/err'"
# Nothing generated: no generation speed either.
expect "-n 0" 0 "generated: 0 tokens in" -- "$og" run -m "$smollm2" -p "Hello" -n 0
check "-n 0 prints no generation speed" bash -c "! grep -q 'generated: .*tokens/s' '$tmp/err'"

finish cli_chat
