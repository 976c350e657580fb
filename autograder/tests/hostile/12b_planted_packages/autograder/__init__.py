"""Planted beside the submission: shadows the grader's package."""
from pathlib import Path

Path("@MARKERS@", "autograder").write_text("imported")
