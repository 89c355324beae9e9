"""targeting: PMT models, verification plans and forecasts toward zero extreme poverty.

``import targeting`` stays light: it imports neither mlflow nor the command line.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("targeting")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
