"""``python -m autograder.otter_cli run ...``: ``otter run``, imported as on Gradescope.

Two differences from otter's own command line, neither of which changes a grading:

- Only ``otter.run`` is imported. ``otter run`` is a thin click command around
  :func:`otter.run.main` (set the log level, call it); otter's full command line also imports
  ``otter assign``, ``otter grade`` (python_on_whales, Docker) and the rest, 0.55 s of every
  grading here. Gradescope's ``run_otter.py`` imports ``otter.run.run_autograder`` alone too.
- The development environment also holds the notebook server, whose jupyter-events asks for
  jsonschema's optional IRI format checker (rfc3987-syntax). jsonschema imports it when it is
  installed, and nbformat imports jsonschema, so every ``otter run`` here built 39 lark grammars
  first: 2.5 s of CPU and about 500,000 mmap/munmap calls. An autograder zip installs only its
  own requirements, which do not include it (``pip install --dry-run --report`` of the kmeans
  zip's requirements.txt: 110 packages, no rfc3987-syntax, no lark), so hiding it here grades
  exactly as Gradescope's image does. Nothing of a grading validates an IRI.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="otter", description="otter run, as otter's own command line has it")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="grade one submission with an autograder zip, without containers")
    run.add_argument("submission")
    run.add_argument("-a", "--autograder", default="./autograder.zip")
    run.add_argument("-o", "--output-dir", default="./")
    run.add_argument("--no-logo", action="store_true")
    run.add_argument("--debug", action="store_true")
    run.add_argument("-v", "--verbose", action="count", default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``otter run`` (the only otter command the course uses) with the IRI format checker absent."""
    args = _parser().parse_args(argv)
    sys.modules.setdefault("rfc3987_syntax", None)  # ``import rfc3987_syntax`` raises ImportError
    from otter import logging
    from otter.run import main as run

    logging.set_level([logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)])
    run(args.submission, autograder=args.autograder, output_dir=args.output_dir, no_logo=args.no_logo,
        debug=args.debug)


if __name__ == "__main__":
    main()
