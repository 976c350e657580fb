"""The class report `grade-all` writes: a static HTML page with matplotlib PNGs.

It shows the score distribution, the pass rate of each graded line and, per line, the
most common failure messages, normalised so that the same mistake made on different
inputs groups together, each with a count and one example submission. The page has no
script and loads nothing but its own PNGs, so it opens from disk with no network.
"""
from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from pathlib import Path

from .config import Assignment
from .feedback import EMPTY, GRADER, NO_IMPORT, WRONG_FILE
from .gradebook import graded_lines

WHOLE = {WRONG_FILE, EMPTY, NO_IMPORT, GRADER}  # causes that stop every line of a submission
_FENCE = re.compile(r"^\s*`{3,}\w*\s*$")
_MD_ESCAPE = re.compile(r"\\([\\`*_\[\]<>#|~])")
_MD_NAME = re.compile(r"^`(\w+)`:")  # the test name as feedback.md_message writes it
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)
_ARRAY = re.compile(r"\[[^\[\]]*\]")
_SPACES = re.compile(r"\s+")
KEEP_LINES = 3  # test and property, the error, its first detail: enough to tell mistakes apart


def normalise(message: str) -> str:
    """A failure message with its inputs blanked: numbers → N, innermost brackets → [...]."""
    lines = [_MD_NAME.sub(r"\1:", _MD_ESCAPE.sub(r"\1", ln)) for ln in message.splitlines()
             if ln.strip() and not _FENCE.match(ln)]
    kept = []
    for line in lines[:KEEP_LINES]:
        line = _NUMBER.sub("N", line)
        while _ARRAY.search(line):
            line = _ARRAY.sub("⟨…⟩", line)
        kept.append(_SPACES.sub(" ", line).strip())
    return "\n".join(kept)


def whole_submission_problems(stored: dict[str, dict]) -> dict[str, str]:
    """Submissions no line of which could run (wrong file name, import error, grader error): the reason."""
    found = {}
    for sub, results in sorted(stored.items()):
        lines = graded_lines(results)
        causes = {(t.get("extra_data") or {}).get("cause") for t in lines}
        if lines and len(causes) == 1 and causes & WHOLE:
            found[sub] = (lines[0].get("extra_data") or {}).get("reason", "")
        elif not any(t.get("max_score") for t in lines):  # the grading itself failed
            found[sub] = " ".join(str(results.get("output", "")).split())[:200]
    return found


def failures(stored: dict[str, dict]) -> dict[str, list[tuple[str, int, str]]]:
    """Per graded line: (normalised message, count, example submission id), most common first.

    A hidden line's message is its real one (from its details entry), not the student's.
    Submissions that could not run at all are left out (see :func:`whole_submission_problems`).
    """
    groups: dict[str, Counter] = defaultdict(Counter)
    example: dict[tuple[str, str], str] = {}
    skip = whole_submission_problems(stored)
    for sub, results in sorted(stored.items()):
        if sub in skip:
            continue
        details = {(t.get("extra_data") or {}).get("details_of"): t for t in results.get("tests", [])}
        for t in graded_lines(results):
            if t.get("status") != "failed":
                continue
            message = (details.get(t.get("name")) or t).get("output", "")
            key = normalise(str(message))
            groups[t.get("name", "?")][key] += 1
            example.setdefault((t.get("name", "?"), key), sub)
    return {line: [(msg, n, example[(line, msg)]) for msg, n in counter.most_common()]
            for line, counter in groups.items()}


def _plots(folder: Path, a: Assignment, rows: list[dict]) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    totals = [float(r["total"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    ax.hist(totals, bins=[x - 0.5 for x in range(int(a.total_points) + 2)], color="#3b6ea5", edgecolor="white")
    ax.set(xlabel=f"total score (of {a.total_points:g})", ylabel="submissions", title="Score distribution")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    fig.savefig(folder / "scores.png")
    plt.close(fig)
    made.append(("scores.png", "Histogram of total scores"))

    names = [t.name for t in a.tests]
    rates = [100 * sum(float(r[n]) >= t.points for r in rows) / max(1, len(rows)) for n, t in zip(names, a.tests)]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(names) + 1.2), dpi=100)
    ax.barh(names[::-1], rates[::-1], color=["#a53b3b" if r < 50 else "#3b8a5a" for r in rates[::-1]])
    ax.set(xlim=(0, 100), xlabel="submissions passing (%)", title="Pass rate per graded line")
    fig.tight_layout()
    fig.savefig(folder / "pass_rate.png")
    plt.close(fig)
    made.append(("pass_rate.png", "Pass rate of each graded line"))
    return made


def write_report(folder: Path, a: Assignment, rows: list[dict], stored: dict[str, dict]) -> Path:
    """Write ``folder/index.html`` and its PNGs; return the page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    esc = html.escape
    plots = _plots(folder, a, rows)
    mean = sum(float(r["total"]) for r in rows) / max(1, len(rows))
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{esc(a.title)}: class report</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top}"
             "pre{margin:0;white-space:pre-wrap}</style></head><body>",
             f"<h1>{esc(a.title)} ({esc(a.id)}): class report</h1>",
             f"<p>{len(rows)} submissions; mean {mean:.2f} of {a.total_points:g} points.</p>"]
    parts += [f'<figure><img src="{name}" alt="{esc(alt)}"><figcaption>{esc(alt)}</figcaption></figure>'
              for name, alt in plots]
    broken = whole_submission_problems(stored)
    if broken:
        parts.append("<h2>Submissions that could not run</h2><table><tr><th>submission</th><th>reason</th></tr>")
        parts += [f"<tr><td>{esc(sub)}</td><td>{esc(why)}</td></tr>" for sub, why in broken.items()]
        parts.append("</table>")
    parts.append("<h2>Most common failures per line</h2>")
    found = failures(stored)
    if not found:
        parts.append("<p>No line failed.</p>")
    for t in a.tests:
        groups = found.get(t.name)
        if not groups:
            continue
        parts.append(f"<h3>{esc(t.name)} ({t.visibility}, {t.points:g} points)</h3>")
        parts.append("<table><tr><th>count</th><th>message (inputs blanked)</th><th>example</th></tr>")
        parts += [f"<tr><td>{n}</td><td><pre>{esc(msg)}</pre></td><td>{esc(sub)}</td></tr>" for msg, n, sub in groups]
        parts.append("</table>")
    parts.append("</body></html>")
    page = folder / "index.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    return page
