"""``python -m autograder.otter_cli run ...``: otter's command line, imported as on Gradescope.

The development environment also holds the notebook server, whose jupyter-events asks for
jsonschema's optional IRI format checker (rfc3987-syntax). jsonschema imports it when it is
installed, and nbformat imports jsonschema, so every ``otter run`` here built 39 lark grammars
first: 2.5 s of CPU and about 500,000 mmap/munmap calls, over a third of a kmeans grading.
An autograder zip installs only its own requirements, which do not include it (``pip install
--dry-run --report`` of the kmeans zip's requirements.txt: 110 packages, no rfc3987-syntax,
no lark), so hiding it here grades exactly as Gradescope's image does. Nothing of a grading
validates an IRI.
"""
from __future__ import annotations

import sys


def main() -> None:
    """Run otter's command line with the IRI format checker absent (``import`` raises ImportError)."""
    sys.modules.setdefault("rfc3987_syntax", None)
    from otter.cli import cli

    cli(prog_name="otter")


if __name__ == "__main__":
    main()
