"""Command line: `python -m core <command> ...`. Each command group lives in `core/commands/`.

    python -m core data stats --source sample
    python -m core data subset --source sample --out DIR --n 200
    python -m core model tiny --data sample --out DIR
    python -m core model convert SRC OUT
    python -m core train --model tiny --data sample --out RUN_DIR --minutes 5
    python -m core eval --model M --data SRC --split test --method categorical --out results.json
    python -m core chat --model M "question"
    python -m core practice start --data SRC --n 10   # prints the join code

Long commands show progress on stderr (a bar on a terminal, a line every few seconds otherwise);
`python -m core --quiet <command>` silences it. Expected failures (bad input, missing files, no
internet, a full disk, bad flags) print one line on stderr and exit 2; an unexpected one (a bug) prints
one line too and exits 1 (SQA_DEBUG=1 shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from core import access
from core.errors import StudioError

GROUPS = ["data", "model", "train", "sweep", "eval", "chat", "runs", "publish", "export", "practice"]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (with where to find help), like every other error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m core", description="ScienceQA Tutor Studio")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars or stage messages")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in GROUPS:
        try:
            module = importlib.import_module(f"core.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"core.commands.{name}":
                raise
            continue
        module.register(sub)
    _quiet_everywhere(parser)
    return parser


def _quiet_everywhere(parser: argparse.ArgumentParser) -> None:
    """`--quiet` is accepted after any (sub)command too: `python -m core eval ... --quiet`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                # SUPPRESS: a subcommand without the flag must not reset the top level's value
                child.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                                   help="no progress bars or stage messages")
                _quiet_everywhere(child)


def main(argv: list[str] | None = None) -> int:
    access.act_as_local()  # the command line is the local admin
    args = build_parser().parse_args(argv)
    from core.progress import set_quiet

    set_quiet(args.quiet)  # also decides whether the libraries' own bars draw (core.progress.library_bars)
    try:
        return int(args.func(args) or 0)
    except (StudioError, ValueError) as e:
        return _fail(e, 2)
    except OSError as e:
        from core.files import write_error

        return _fail(write_error(getattr(e, "filename", None) or "a file", e)
                     if e.errno in (28, 122, 30) else f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""), 2)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug: still one line; SQA_DEBUG=1 shows where
        if os.environ.get("SQA_DEBUG"):
            raise
        return _fail(f"unexpected {type(e).__name__}: {e} (a bug; run with SQA_DEBUG=1 for the traceback)", 1)


def _fail(message: object, code: int) -> int:
    line = " ".join(str(message).split()) or "failed"
    print(f"error: {line}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
