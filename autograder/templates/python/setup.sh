#!/usr/bin/env bash
# Lean Gradescope image for this course (replaces otter's default setup.sh):
# the system Python and a virtual environment in /opt (outside /root, so the
# unprivileged sandbox user can run it). No conda, no LaTeX, no browser.
# It installs this assignment's pins only: requirements.txt beside this script.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
REQUIREMENTS={{ autograder_dir }}/source/requirements.txt
TORCH_LINE='^({{ torch_packages }})([^A-Za-z0-9._-]|$)'
TORCH_INDEX=${COURSE_TORCH_INDEX:-{{ torch_index }}}

apt-get update -qq
apt-get install -y -qq python3.11 python3.11-venv >/dev/null 2>&1 || apt-get install -y -qq python3 python3-venv
PY=$(command -v python3.11 || command -v python3)
"$PY" -m venv /opt/course-venv
PIP="/opt/course-venv/bin/python -m pip"
$PIP install -q --upgrade pip

# PyTorch first, as a CPU-only build: Gradescope has no GPU and the CUDA build adds ~5 GB.
# COURSE_TORCH_SPEC (e.g. "torch==2.13.0") replaces the pinned lines and comes from pip's
# configured indexes; otherwise only the CPU index is asked (no configured extra index, whose
# torch may be a CUDA build), once, with a short timeout. On failure: the pinned PyPI build.
pinned_torch=$(grep -E "$TORCH_LINE" "$REQUIREMENTS" | tr '\n' ' ' || true)
if [ -n "$pinned_torch" ]; then
    log=$(mktemp)
    if [ -n "${COURSE_TORCH_SPEC:-}" ]; then
        cpu_install() { $PIP install -q --timeout 30 --retries 0 $COURSE_TORCH_SPEC; }
    else
        cpu_install() { PIP_CONFIG_FILE=/dev/null $PIP install -q --timeout 30 --retries 0 --index-url "$TORCH_INDEX" $pinned_torch; }
    fi
    if ! cpu_install 2>"$log"; then
        echo "setup.sh: CPU torch not available ($(grep -v '^WARNING' "$log" | tail -n 1)); installing ${pinned_torch% } from PyPI"
        $PIP install -q $pinned_torch
    fi
    rm -f "$log"
fi

rest=$(mktemp)
grep -vE "$TORCH_LINE" "$REQUIREMENTS" > "$rest" || true
$PIP install -q -r "$rest"
rm -f "$rest"
$PIP install -q --no-deps {{ autograder_dir }}/source/files/course
/opt/course-venv/bin/python -m ipykernel install --sys-prefix --name python3
