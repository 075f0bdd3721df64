"""The one exception type shown to users: an expected failure they can fix.

Everything else (bugs) propagates. Pages catch `StudioError` and show its message; the command line
prints it and exits with status 2.
"""


class StudioError(Exception):
    """An expected, user-fixable failure, with a message that says what to do."""
