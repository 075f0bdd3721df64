"""`python -m core publish`: push a finished run's model to the Hugging Face Hub with a model card.

    python -m core publish .studio/runs/20260101-120000 --repo you/scienceqa-tutor
    python -m core publish run:20260101-120000 --repo you/scienceqa-tutor --dry-run OUT   # offline: write the folder

Needs a token with write access (HF_TOKEN or `huggingface-cli login`); without one it says so.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("publish", help="push a run's model (+ model card) to the Hugging Face Hub")
    p.add_argument("run", help="a run folder, a run id, or run:<id>")
    p.add_argument("--repo", required=True, help="the Hub repo id to create or update (owner/name)")
    p.add_argument("--public", action="store_true", help="create the repo public (default: private)")
    p.add_argument("--dry-run", metavar="OUT", default=None,
                   help="write the folder that would be uploaded (model, card) to OUT and stop")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.evaluation.publish import push_run, run_folder, stage_upload

    if args.dry_run:
        # never overwrite: OUT may be any folder the user named, and must not be deleted
        out = stage_upload(run_folder(args.run), Path(args.dry_run), args.repo, overwrite=False)
        print(f"wrote {out} (README.md is the model card); nothing was uploaded")
        return 0
    url = push_run(args.run, args.repo, private=not args.public)
    print(f"pushed to {url}")
    return 0
