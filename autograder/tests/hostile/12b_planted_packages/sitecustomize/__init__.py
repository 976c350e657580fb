"""Planted beside the submission: if anything imports this package, it leaves a marker."""
from pathlib import Path

Path("@MARKERS@", "sitecustomize").write_text("imported")
