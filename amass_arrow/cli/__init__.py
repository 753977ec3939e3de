"""`amass-arrow` command line: each command parses its flags, calls one library function, and turns
library errors into one clean line on stderr with exit status 2.

Run `amass-arrow COMMAND --help` for examples. The commands live in this package's modules, one per group
(`store`, `sql`, `labels`, `report`, `metrics`, `bench`), registered on the table (`table.py`); they are imported
after `build`'s pool is prestarted, so its fork server warms up while they load their libraries.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from amass_arrow import __version__
from amass_arrow.build import warmstart
from amass_arrow.errors import AmassArrowError

from .table import COMMANDS, command, os_error_line, quiet_arg, store_arg  # noqa: F401 - the command modules' API


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="amass-arrow", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"amass-arrow {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_, epilog, add_args, _run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        add_args(p)
    return ap


def main(argv: list[str] | None = None) -> int:
    _prestart_pool(sys.argv[1:] if argv is None else argv)
    _load_plugins()
    ap = parser()
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help()
        return 1
    run = COMMANDS[args.command][3]
    try:
        run(args)
    except AmassArrowError as exc:
        print(f"amass-arrow {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `amass-arrow ... | head`
        sys.stderr.close()
        return 0
    except OSError as exc:  # a folder not writable, a full disk, a folder where a file was expected, ...
        print(f"amass-arrow {args.command}: error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"amass-arrow {args.command}: interrupted; re-run to resume", file=sys.stderr)
        return 130
    return 0


def _prestart_pool(argv: list[str]) -> None:
    """For `build`, before this process's own imports: one BLAS thread (its numeric work is small
    matrices), and on a local pool of several workers the pool's fork server started, so its warm-up
    (build/preload.py) overlaps these imports (~0.2 s of a build)."""
    if argv[:1] != ["build"] or "-h" in argv or "--help" in argv:
        return
    if "numpy" not in sys.modules:  # (a caller that imported numpy already keeps its threads)
        warmstart.one_blas_thread()
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--workers", default="auto")
    pre.add_argument("--executor", default="local")
    known, _ = pre.parse_known_args(argv[1:])
    if known.executor != "local" or known.workers.strip() == "1":
        return
    warmstart.start_fork_server()


def _load_plugins() -> None:
    """Import the command groups: every module of this package registers its commands on COMMANDS."""
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name != "store"):  # archive/store verbs lead --help
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
