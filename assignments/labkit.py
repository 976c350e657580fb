"""Small helpers shared by the assignments' lab modules (data files, figure output).

Shipped in every student handout next to the notebook.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

_HERE = Path(__file__).resolve().parent


def data_path(relative: str) -> Path:
    """Locate a course data file: ``data/`` beside the handout, or the repository's ``data/``."""
    for root in (_HERE / "data", _HERE.parent / "data"):
        candidate = root / relative
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"course data file {relative!r} not found next to the handout or in the repository")


def use_headless_backend_if_needed() -> None:
    """Draw off-screen when no display is attached (CI, `course demo`)."""
    import os

    if not os.environ.get("DISPLAY") and "inline" not in matplotlib.get_backend():
        matplotlib.use("Agg")


def save(fig, out_dir: Path | None, name: str) -> Path | None:
    """Save ``fig`` as ``out_dir/name`` (PNG) when an output folder is given; return the path."""
    if out_dir is None:
        return None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def curve_figure(values, xlabel: str, ylabel: str, title: str, **style):
    """A per-iteration curve (loss, log-likelihood) on a small figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(range(len(values)), values, marker="o", **style)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig
