"""A small folder shaped like Gradescope's "Export Submissions" download, for kmeans.

Each submission is a realistic case: full marks, a group with a one-function bug, the
untouched stub, a syntax error, a wrongly named upload, a loss that never returns, and
two whose metadata is malformed (a broken entry; no entry at all).
"""
from __future__ import annotations

from pathlib import Path

from autograder.bugs import load_bugs
from autograder.config import Assignment

METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1001'
    :email: ada@example.edu
  :created_at: 2026-11-30 21:14:03.000000000 -08:00
  :score: 16.0
submission_1002:
  :submitters:
  - :name: Grace Hopper
    :sid: '1002'
    :email: grace@example.edu
  - :name: Alan Turing
    :sid: '1012'
    :email: alan@example.edu
  :created_at: 2026-11-30 22:01:44.000000000 -08:00
submission_1003:
  :submitters:
  - :name: Edsger Dijkstra
    :sid: '1003'
    :email: edsger@example.edu
submission_1004:
  :submitters:
  - :name: Barbara Liskov
    :sid: '1004'
    :email: barbara@example.edu
submission_1005:
  :submitters:
  - :name: Donald Knuth
    :sid: '1005'
    :email: don@example.edu
submission_1006:
  :submitters:
  - :name: Frances Allen
    :sid: '1006'
    :email: fran@example.edu
submission_1007:
  :submitters: not a list
"""

LOOPING_LOSS = '''
def kmeans_loss(data, centroids):
    while True:
        pass
'''


def make_export(folder: Path, a: Assignment, which: list[str] | None = None) -> Path:
    """Write the export under ``folder``; ``which`` keeps only those submission ids."""
    bugs = {b.name: b.source for b in load_bugs(a)}
    solution = a.solution_path.read_text()
    files = {
        "submission_1001": {"kmeans.py": solution},
        "submission_1002": {"kmeans.py": bugs["quantize_returns_labels"]},
        "submission_1003": {"kmeans.py": a.stub_path.read_text()},
        "submission_1004": {"kmeans.py": "def assign_clusters(data, centroids:\n    return 0\n"},
        "submission_1005": {"kmeans_mine.py": solution},
        "submission_1006": {"kmeans.py": solution + LOOPING_LOSS},
        "submission_1007": {"kmeans.py": bugs["ties_to_highest_index"]},
        "submission_1008": {"kmeans.py": bugs["unsquared_loss"]},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "submission_metadata.yml").write_text(METADATA)
    for sub, contents in files.items():
        if which is not None and sub not in which:
            continue
        (folder / sub).mkdir()
        for name, text in contents.items():
            (folder / sub / name).write_text(text)
    return folder
