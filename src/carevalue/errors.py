"""The one exception a user's mistake becomes.

A ``UserError`` carries one plain sentence that names the file, row or setting and
says what to do. The CLI prints it without a traceback; anything else is a bug and
keeps its traceback so it can be reported.
"""


class UserError(Exception):
    """A mistake the user can fix; ``str(error)`` is the whole message."""
