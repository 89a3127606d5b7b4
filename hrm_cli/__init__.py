"""The `hrm` command line and terminal UI. Only this package imports typer, rich and textual."""
