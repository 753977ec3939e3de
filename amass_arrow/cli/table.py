"""The CLI's command table: `@command(name, help, epilog)(add_args)` registers a command's run function; shared
argument helpers; one line for an OSError."""

from __future__ import annotations

COMMANDS: dict[str, tuple[callable, callable]] = {}  # name -> (add_arguments, run)


def command(name: str, help: str, epilog: str = ""):
    """Register `run(args)` as a subcommand; the decorated function's docstring adds its flags."""

    def deco(add_args):
        def wrap(run):
            COMMANDS[name] = (help, epilog, add_args, run)
            return run

        return wrap

    return deco


def store_arg(p, help: str = "store path") -> None:
    """The positional STORE argument every store-reading command takes."""
    p.add_argument("store", help=help)


def quiet_arg(p) -> None:
    """`--quiet`: no progress bars."""
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def os_error_line(exc: OSError) -> str:
    """'<file>: <what the OS said>' (and the second file of a rename), one line."""
    what = exc.strerror or str(exc)
    files = [f for f in (exc.filename, exc.filename2) if f]
    return f"{' -> '.join(map(str, files))}: {what}" if files else what
