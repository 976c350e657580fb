"""The one exception type the command line turns into a one-line message."""


class CourseError(Exception):
    """A problem the user can fix (bad course.yml, unknown assignment, missing file).

    The CLI prints ``course: <message>`` and exits with status 2, never a traceback.
    """
