"""hrm: a faithful Hierarchical Reasoning Model (and TRM) engine for puzzles.

The engine never imports the command-line or terminal UI libraries (typer, rich, textual).
"""

__version__ = "0.1.0"
