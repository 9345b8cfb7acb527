"""hubbub: a self-hostable chat server with an HTTP API."""

__version__ = "0.1.0"
__all__ = ["__version__"]
