#!/usr/bin/env bash
# Builds the retrieval-evaluation corpus from Debian documentation packages.
#
# Owns: the package pins, the list of members taken from each package, the
# scanned-PDF recipe and the check of every corpus file against SHA256SUMS.
# Packages are fetched with `apt-get download PKG=VERSION` (the machine's own
# apt sources; no address is written here) and unpacked with `dpkg-deb -x`, so
# no root is needed and nothing is installed.
#
# Idempotent and resumable: a .deb already in the cache is reused (checked with
# dpkg-deb first, re-fetched if damaged), an unpack is redone unless it
# finished, and every corpus file is written to a temporary name and renamed
# (the scanned PDF is kept once made). Run it again after any interruption.
#
# Usage: bench/docs_eval/fetch.sh [--cache DIR] [--corpus DIR] [--no-verify]
#   --cache DIR   where .debs and unpacked trees go
#                 (default $OFFGRID_DOCS_EVAL_CACHE or $HOME/.cache/offgrid/docs_eval)
#   --corpus DIR  where the corpus is assembled (default CACHE/corpus)
#   --no-verify   skip the SHA-256 check (e.g. to regenerate SHA256SUMS)
# Needs: apt-get, dpkg-deb, gzip, pdftoppm (poppler-utils), img2pdf, sha256sum.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${OFFGRID_DOCS_EVAL_CACHE:-$HOME/.cache/offgrid/docs_eval}"
CORPUS=""
VERIFY=1

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --cache) [ $# -ge 2 ] || { echo "fetch.sh: --cache needs a folder" >&2; exit 2; }
                 CACHE="$2"; shift 2 ;;
        --corpus) [ $# -ge 2 ] || { echo "fetch.sh: --corpus needs a folder" >&2; exit 2; }
                  CORPUS="$2"; shift 2 ;;
        --no-verify) VERIFY=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "fetch.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$CORPUS" ] || CORPUS="$CACHE/corpus"

for tool in apt-get dpkg-deb gzip pdftoppm img2pdf sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "fetch.sh: '$tool' not found (needs apt, dpkg, gzip, poppler-utils, img2pdf, coreutils)" >&2
        exit 1; }
done

# Pinned versions (Debian 12 "bookworm"). The corpus hashes in SHA256SUMS were
# made from exactly these; a different version may change the text and the
# page numbers the questions point at, so a mismatch is an error, not a warning.
# nodejs-doc is from bookworm-security; override with NODEJS_DOC_VERSION if the
# archive has moved on (the Markdown sources rarely change within 18.20.4).
PKGS=(
    "gnuplot-doc=5.4.4+dfsg1-2"
    "r-doc-pdf=4.2.2.20221110-2"
    "debian-reference-en=2.100"
    "nodejs-doc=${NODEJS_DOC_VERSION:-18.20.4+dfsg-1~deb12u3}"
)

mkdir -p "$CACHE/debs" "$CACHE/root" "$CORPUS"

# deb_file PKG=VERSION -> path of the cached .deb (apt names it with the epoch
# colon escaped as %3a; none of our pins has an epoch, so the plain form works).
deb_file() {
    local name="${1%%=*}" ver="${1#*=}"
    echo "$CACHE/debs/${name}_${ver}_all.deb"
}

# deb_ok SPEC FILE: the cached .deb is whole. Checked against the SHA-256
# apt's own index gives for that version when it has it (what apt-get
# download checked on the way in), else by reading the whole archive.
deb_ok() {
    local want
    want="$(apt-cache show --no-all-versions "$1" 2>/dev/null | awk '/^SHA256:/ {print $2; exit}')"
    if [ -n "$want" ]; then
        [ "$(sha256sum <"$2" | awk '{print $1}')" = "$want" ]
    else
        dpkg-deb --fsys-tarfile "$2" >/dev/null 2>&1
    fi
}

fetch_deb() {
    local spec="$1" f
    f="$(deb_file "$spec")"
    if [ -f "$f" ] && deb_ok "$spec" "$f"; then
        return 0
    fi
    [ -f "$f" ] && echo "fetch.sh: cached $(basename "$f") is damaged: fetching it again" >&2
    rm -f "$f"
    echo "fetch.sh: downloading $spec" >&2
    # apt-get download writes into the current folder, completing a file only
    # when it is whole; a subshell keeps our own working folder.
    ( cd "$CACHE/debs" && apt-get download -q "$spec" >&2 ) || {
        echo "fetch.sh: apt-get download $spec failed (is the version still in the archive? run apt-get update)" >&2
        exit 1; }
    [ -f "$f" ] || { echo "fetch.sh: $spec downloaded but $f is missing" >&2; exit 1; }
    # a fresh archive invalidates the unpacked tree made from the old one
    rm -rf "$CACHE/root/${spec%%=*}"
}

# unpack PKG=VERSION: dpkg-deb -x into CACHE/root/NAME (once; a stamp marks
# a finished unpack so an interrupted one is redone).
unpack() {
    local spec="$1" name="${1%%=*}" dest
    dest="$CACHE/root/$name"
    local stamp="$dest/.unpacked-${spec#*=}"
    [ -f "$stamp" ] && return 0
    rm -rf "$dest"
    mkdir -p "$dest"
    dpkg-deb -x "$(deb_file "$spec")" "$dest"
    touch "$stamp"
}

# put SRC REL: copy SRC to CORPUS/REL atomically (gunzip when SRC ends in .gz)
put() {
    local src="$1" rel="$2" out tmp
    out="$CORPUS/$rel"
    tmp="$out.part.$$"
    mkdir -p "$(dirname "$out")"
    [ -f "$src" ] || { echo "fetch.sh: $src is missing from its package" >&2; exit 1; }
    case "$src" in
        *.gz) gzip -dc "$src" >"$tmp" ;;
        *)    cp "$src" "$tmp" ;;
    esac
    mv -f "$tmp" "$out"
}

for spec in "${PKGS[@]}"; do fetch_deb "$spec"; unpack "$spec"; done

R="$CACHE/root"
put "$R/gnuplot-doc/usr/share/doc/gnuplot/gnuplot.pdf"            gnuplot.pdf
put "$R/r-doc-pdf/usr/share/R/doc/manual/R-intro.pdf"             R-intro.pdf
for ch in 03 04 05; do
    put "$R/debian-reference-en/usr/share/debian-reference/ch$ch.en.html" \
        "debian-reference/ch$ch.en.html"
done
for md in fs stream; do
    put "$R/nodejs-doc/usr/share/doc/nodejs/api/$md.md.gz" "nodejs/$md.md"
done
# Licence texts travel with the corpus (they are not indexed: see README).
mkdir -p "$CACHE/licenses"
for pkg in gnuplot-doc r-doc-pdf debian-reference-en nodejs-doc; do
    cp "$R/$pkg/usr/share/doc/$pkg/copyright" "$CACHE/licenses/$pkg.copyright"
done

# The scanned PDF: page 9 of the R FAQ (a document otherwise absent from the
# corpus, so only OCR can find its words) rendered to a grey PNG at 200 dpi and
# wrapped as an image-only PDF. --nodate and the internal engine keep img2pdf's
# output byte-stable (its pikepdf engine writes a random /ID).
SCAN="$CORPUS/scanned/R-FAQ-page9-scan.pdf"
if [ ! -f "$SCAN" ]; then
    work="$CACHE/scan.$$"
    rm -rf "$work"; mkdir -p "$work" "$(dirname "$SCAN")"
    pdftoppm -f 9 -l 9 -r 200 -gray -png \
        "$R/r-doc-pdf/usr/share/R/doc/manual/R-FAQ.pdf" "$work/page"
    png="$(ls "$work"/page*.png)"
    img2pdf --engine internal --nodate -o "$work/scan.pdf" "$png"
    mv -f "$work/scan.pdf" "$SCAN"
    rm -rf "$work"
fi

# Anything else in the corpus folder would be indexed too and skew the figures.
extra="$(cd "$CORPUS" && find . -type f ! -name '*.part.*' | sed 's|^\./||' | sort \
         | grep -vxF -f <(awk '{print $2}' "$HERE/SHA256SUMS" | sed 's|^\*||') || true)"
if [ -n "$extra" ]; then
    echo "fetch.sh: warning: files in $CORPUS not part of the set (remove them):" >&2
    echo "$extra" | sed 's/^/  /' >&2
fi

if [ "$VERIFY" = 1 ]; then
    if ! (cd "$CORPUS" && sha256sum --quiet -c "$HERE/SHA256SUMS"); then
        echo "fetch.sh: SHA-256 mismatch: the corpus differs from the committed set" >&2
        echo "  (a different package version, or for the scanned PDF a different poppler/img2pdf)" >&2
        exit 1
    fi
fi

echo "corpus: $CORPUS"
(cd "$CORPUS" && find . -type f ! -name '*.part.*' -printf '%s\t%P\n' | sort -k2 \
    | awk -F'\t' '{printf "  %9.1f KiB  %s\n", $1/1024, $2; t+=$1} END {printf "  %9.1f KiB  total\n", t/1024}')
