#!/usr/bin/env bash
# Makes the development environment on a fresh machine: .venv (Python 3.12+),
# the package with its extras, and ffmpeg, espeak-ng, Chromium and ChromeDriver (the page
# tests' headless browser) from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-dev,local}"

find_python() {
    local root candidates p
    root="$(pyenv root 2>/dev/null || true)"
    candidates=()
    [ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
    if [ -n "$root" ]; then
        candidates+=("$root/versions/3.12.1/bin/python" "$root/versions/3.13.0/bin/python")
        for p in "$root"/versions/3.1[2-9]*/bin/python; do candidates+=("$p"); done
    fi
    candidates+=(python3.13 python3.12 python3)
    for p in "${candidates[@]}"; do
        if command -v "$p" >/dev/null 2>&1 \
            && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

ensure_debian_packages() {
    local missing=()
    command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
    command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing ${missing[*]} from Debian's packages..."
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
            || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
    else
        echo "Missing: ${missing[*]}. Install them, e.g.: sudo apt-get install ${missing[*]}" \
             "(macOS: brew install ffmpeg espeak-ng chromium chromedriver)" >&2
        exit 1
    fi
}

ensure_debian_packages

stamp=".venv/.installed-$extras"
if [ ! -x .venv/bin/python ]; then
    py="$(find_python)" || { echo "Python 3.12 or newer is needed; none found (set PYTHON=/path/to/python3.12)." >&2; exit 1; }
    echo "Creating .venv with $py"
    "$py" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
    touch "$stamp"
fi
