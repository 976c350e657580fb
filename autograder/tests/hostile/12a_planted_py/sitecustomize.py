"""Planted beside the submission: if anything imports this file, it leaves a marker."""
from pathlib import Path

Path("@MARKERS@", "sitecustomize.py").write_text("imported")
