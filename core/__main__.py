"""Command line: `python -m core <command> ...`. Each command group lives in `core/commands/`.

    python -m core data stats --source sample
    python -m core data subset --source sample --out DIR --n 200
    python -m core model tiny --data sample --out DIR
    python -m core model convert SRC OUT
    python -m core train --model tiny --data sample --out RUN_DIR --minutes 5
    python -m core eval --model M --data SRC --split test --method categorical --out results.json
    python -m core chat --model M "question"

Long commands show progress on stderr (a bar on a terminal, a line every few seconds otherwise);
`python -m core --quiet <command>` silences it. Expected failures (bad input, missing files, no internet) print one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from core.errors import StudioError

GROUPS = ["data", "model", "train", "sweep", "eval", "chat", "runs", "publish", "export"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="ScienceQA Tutor Studio")
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
    args = build_parser().parse_args(argv)
    from core.progress import set_quiet

    set_quiet(args.quiet)  # also decides whether the libraries' own bars draw (core.progress.library_bars)
    try:
        return int(args.func(args) or 0)
    except (StudioError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
