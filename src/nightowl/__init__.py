"""nightowl: find a Midnight Blizzard-style breach in your own logs, mail and repositories."""

# The same string as pyproject's version (tests/test_version.py holds them together). Asking
# importlib.metadata instead costs tens of milliseconds at every start of every command.
__version__ = "0.1.0"
