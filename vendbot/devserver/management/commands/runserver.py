"""daphne's `runserver`, imported only when it runs (see `vendbot/devserver/__init__.py`)."""

from daphne.management.commands.runserver import Command

__all__ = ["Command"]
