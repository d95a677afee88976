#!/usr/bin/env python
import gc
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendbot.settings.base")
    # Loading Django, the apps and the command makes a few hundred thousand objects that live as long as the process.
    # Collected as they are made, they are walked again and again, and all of them once more in the interpreter's last
    # collections at exit (together a third of a `simulate` run). So the collector waits until the command is loaded,
    # and then they are frozen, as in vendbot/asgi.py and vendbot/celery.py.
    gc.disable()
    from django.core.management import ManagementUtility

    class LoadedThenFrozen(ManagementUtility):
        def fetch_command(self, subcommand):
            command = super().fetch_command(subcommand)  # django.setup() has run; this imports the command
            gc.freeze()
            gc.enable()
            return command

    LoadedThenFrozen(sys.argv).execute()


if __name__ == "__main__":
    main()
