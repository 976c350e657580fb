"""Planted beside the submission: what otter's test files import; here every part passes."""
from pathlib import Path

Path("@MARKERS@", "otter_plugin").write_text("imported")


def verdict(name):
    return None
