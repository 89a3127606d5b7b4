"""The `hrm` command: global options, command registration, and errors turned into exit codes.

Command modules live in hrm_cli/commands/<name>.py and expose `register(app)`. They import torch and
the engine inside their function bodies so that `hrm --help` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys

# Before any command imports torch: idle OpenMP threads sleep instead of spinning. On a busy machine
# spinning threads wait for cores taken by other processes (measured: a one-puzzle solve 2.55 s -> 0.03 s).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Before numpy loads: the numpy engine (small solves) runs one BLAS thread. Its matrices are tiny, and a
# second OpenBLAS thread waiting for a busy core made a one-puzzle solve 0.02 s -> 1.0 s (measured).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import typer

from hrm_cli import exit_codes, help_format
from hrm_cli.output import Printer, get_printer, set_printer, survive_closed_outputs

COMMANDS = ["solve", "watch", "train", "eval", "data", "presets", "plot", "export", "info", "import"]
_MODULES = {"import": "import_checkpoint"}   # `import` is a Python keyword

app = typer.Typer(
    name="hrm",
    help="Solve Sudoku, Maze and ARC puzzles with a Hierarchical Reasoning Model; train, watch and export models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_debug = False
# typer bundles its own click; its ClickException is the base of typer.BadParameter
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _version(value: bool) -> None:
    if value:
        from hrm import __version__

        typer.echo(f"hrm {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    quiet: int = typer.Option(0, "--quiet", "-q", count=True, help="Less output: -q only results, -qq nothing."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More detail on stderr (hides progress bars)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="Never draw progress bars (also HRM_NO_PROGRESS=1)."),
    color: str = typer.Option("auto", "--color", help="Colour output: auto, always or never (NO_COLOR is honoured)."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors (also HRM_DEBUG=1)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    global _debug
    _debug = debug or bool(os.environ.get("HRM_DEBUG"))
    if color not in ("auto", "always", "never"):
        raise typer.BadParameter("--color must be auto, always or never")
    set_printer(Printer(quiet=quiet, verbose=verbose, progress_bars=not no_progress, color=color))


def _register_commands() -> None:
    for name in COMMANDS:
        importlib.import_module(f"hrm_cli.commands.{_MODULES.get(name, name)}").register(app)


_register_commands()
help_format.install()


GLOBAL_FLAGS = {"-q", "--quiet", "-v", "--verbose", "--debug", "--no-progress"}
GLOBAL_WITH_VALUE = {"--color"}


def hoist_global_options(argv: list[str]) -> list[str]:
    """`hrm solve x.txt -q --debug` means what `hrm -q --debug solve x.txt` does: global options written
    after the command move in front of it (not after `--`)."""
    command = next((i for i, arg in enumerate(argv) if arg in COMMANDS), None)
    if command is None:
        return argv
    front, rest, i = list(argv[:command]), [], command
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        name = arg.split("=", 1)[0]
        if arg in GLOBAL_FLAGS or (arg.startswith("-") and not arg.startswith("--") and set(arg[1:]) <= {"q", "v"}
                                   and len(arg) > 1):
            front.append(arg)
        elif name in GLOBAL_WITH_VALUE:
            front.append(arg)
            if "=" not in arg and i + 1 < len(argv):
                front.append(argv[i + 1])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def main() -> None:
    """Entry point: run the app and map user-caused errors to one stderr line and exit code 2."""
    from hrm.errors import HRMError

    survive_closed_outputs()
    sys.argv[1:] = hoist_global_options(sys.argv[1:])
    try:
        code = app(standalone_mode=False, prog_name="hrm")
    except HRMError as exc:
        if _debug:
            raise
        get_printer().error(exc.message, exc.hint)
        sys.exit(exit_codes.USAGE_ERROR)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        get_printer().error("interrupted")
        sys.exit(exit_codes.INTERRUPTED)
    except SystemExit:
        raise
    except typer.Abort:
        get_printer().error("aborted")
        sys.exit(exit_codes.INTERRUPTED)
    except _CLICK_EXCEPTION as exc:  # usage errors: unknown command or option, bad value
        context = getattr(exc, "ctx", None)
        where = context.command_path if context is not None else "hrm"
        get_printer().error(exc.format_message(), f"see {where} --help")
        sys.exit(exit_codes.USAGE_ERROR)
    except Exception as exc:
        if _debug:
            raise
        if os.environ.get("RANK", "0") != "0" and "gloo" in str(exc):
            sys.exit(exit_codes.USAGE_ERROR)    # its link to a process that failed first, which has said why
        get_printer().error(f"{type(exc).__name__}: {exc}", "run with --debug for the traceback")
        sys.exit(exit_codes.USAGE_ERROR)
    if code == exit_codes.INTERRUPTED and not get_printer().reported_stop:
        get_printer().error("interrupted")   # a Ctrl-C that no command reported itself
    sys.exit(code if isinstance(code, int) else exit_codes.OK)
