"""The one exception type the command line turns into a one-line message."""
from __future__ import annotations

import sys
from typing import Callable


class CourseError(Exception):
    """A problem the user can fix (bad course.yml, unknown assignment, missing file).

    The CLI prints ``course: <message>`` and exits with status 2, never a traceback.
    """


def one_line_errors(prog: str, run: Callable[[], int]) -> int:
    """Call ``run``; a :class:`CourseError` becomes ``prog: message`` (exit 2), Ctrl-C exit 130."""
    try:
        return run()
    except CourseError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
