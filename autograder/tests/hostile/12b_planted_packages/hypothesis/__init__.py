"""Planted beside the submission: if anything imports this package, it leaves a marker."""
from pathlib import Path

Path("@MARKERS@", "hypothesis").write_text("imported")
