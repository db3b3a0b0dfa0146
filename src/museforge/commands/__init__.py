"""The ``museforge`` commands, one module per group; :mod:`museforge.cli` parses the arguments and calls them.

Each ``cmd_*`` takes the parsed arguments and returns the exit code; they hold no logic of their own: they call
the library and print what it returns. Heavy modules (torch) are imported inside them.
"""
