"""The `momento-http` command line (also `python -m momento_http`)."""

from momento_http._cli._exit import ExitCode
from momento_http._cli._main import main

__all__ = ["ExitCode", "main"]
