#!/usr/bin/env bash
# Lean Gradescope image for this course (replaces otter's default setup.sh):
# the system Python and a virtual environment in /opt (outside /root, so the
# unprivileged sandbox user can run it). No conda, no LaTeX, no browser.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3.11 python3.11-venv >/dev/null 2>&1 || apt-get install -y -qq python3 python3-venv
PY=$(command -v python3.11 || command -v python3)
"$PY" -m venv /opt/course-venv
/opt/course-venv/bin/python -m pip install -q --upgrade pip
REQ={{ autograder_dir }}/source/requirements.txt
if [ -n "${COURSE_TORCH_SPEC:-}" ] && grep -q '^torch' "$REQ"; then
    # An override of the torch build (e.g. a CPU wheel the machine's pip indexes hold).
    /opt/course-venv/bin/python -m pip install -q "$COURSE_TORCH_SPEC"
    grep -v '^torch' "$REQ" > /tmp/course-requirements.txt
    REQ=/tmp/course-requirements.txt
fi
/opt/course-venv/bin/python -m pip install -q -r "$REQ"
/opt/course-venv/bin/python -m pip install -q --no-deps {{ autograder_dir }}/source/files/course
/opt/course-venv/bin/python -m ipykernel install --sys-prefix --name python3
