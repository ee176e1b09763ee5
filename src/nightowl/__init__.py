"""nightowl: find a Midnight Blizzard-style breach in your own logs, mail and repositories."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nightowl")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
