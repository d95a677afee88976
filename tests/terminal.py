from io import StringIO


class TerminalOutput(StringIO):
    """A command's stderr that says it is a terminal, as a developer's shell does."""

    def isatty(self) -> bool:
        return True
