"""The ``wharfinger`` command line: thin over the library (see ``docs/cli.md``).

Each subcommand lives in its own module here and registers itself in ``app.py``'s
``COMMAND_MODULES``. Heavy libraries are imported inside command functions so that
``wharfinger --help`` stays fast.
"""
