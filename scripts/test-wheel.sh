#!/usr/bin/env bash
# Installs the wheel in WHEEL_DIR into fresh virtual environments of the oldest and the newest
# CPython (3.9 or later) found on this machine (pyenv's versions and python3.X on PATH, or the
# interpreters named in WHEEL_PYTHONS), and runs python/tests/wheel_smoke.py in each. An
# interpreter that is not there is skipped with a note; no interpreter at all is a note too.
set -euo pipefail

wheel_dir=${1:?usage: test-wheel.sh WHEEL_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
wheel=$(ls "$wheel_dir"/mixtura-*-abi3-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
    echo "error: no abi3 wheel in $wheel_dir (make wheel builds it)" >&2
    exit 1
fi

candidates=()
if [ -n "${WHEEL_PYTHONS:-}" ]; then
    read -r -a candidates <<< "$WHEEL_PYTHONS"
else
    for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3; do
        [ -x "$p" ] && candidates+=("$p")
    done
    for minor in 9 10 11 12 13 14 15; do
        p=$(command -v "python3.$minor" || true)
        [ -n "$p" ] && candidates+=("$p")
    done
fi

# "minor path" for each CPython >= 3.9 that runs, sorted by minor version.
found=$(for p in "${candidates[@]}"; do
    if [ -x "$p" ] || command -v "$p" > /dev/null 2>&1; then
        "$p" -c 'import sys, platform
if platform.python_implementation() == "CPython" and sys.version_info >= (3, 9):
    print(sys.version_info[1], sys.executable)' 2>/dev/null || true
    else
        echo "note: $p not found; skipped" >&2
    fi
done | sort -n -k1,1 -u)
if [ -z "$found" ]; then
    echo "note: no CPython 3.9 or later was found; the wheel's smoke test is skipped"
    exit 0
fi
envs="$root/target/wheel-envs"
printf '%s\n%s\n' "$(echo "$found" | head -n 1)" "$(echo "$found" | tail -n 1)" | uniq |
while read -r minor python; do
    env="$envs/cpython3.$minor"
    rm -rf "$env"
    mkdir -p "$envs"
    "$python" -m venv "$env"
    # numpy comes from the registry as a wheel (never built from source here).
    "$env/bin/python" -m pip install --quiet --only-binary=:all: "$wheel"
    work=$(mktemp -d)
    (cd "$work" && "$env/bin/python" "$root/python/tests/wheel_smoke.py" "$root/data/old_faithful.csv" "$work")
    rm -rf "$work"
done
