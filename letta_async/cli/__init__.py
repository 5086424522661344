"""The ``letta-async`` command line (also ``python -m letta_async``).

``main(argv)`` is the console script; ``main_async(argv)`` runs a command inside a running
event loop. Both return the process exit code instead of exiting, so they can be called from
tests and other programs. ``letta-async --help`` lists the commands.
"""

from ._app import build_parser, main, main_async

__all__ = ["build_parser", "main", "main_async"]
