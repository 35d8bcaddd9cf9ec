"""The tour: one run through the seeds, printed and written as a self-contained HTML page."""
from .tour import run_tour

__all__ = ["run_tour"]
