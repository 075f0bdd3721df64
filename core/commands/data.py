"""`python -m core data ...`: inspect sources and write subsets.

    python -m core data stats --source sample
    python -m core data subset --source ../shared/scienceqa/original --out /tmp/sub --n 30 --per subject --seed 1
    python -m core data subset --source sample --out my-subset --n 300 --split train --text-only drop  # subset:my-subset
    python -m core data list
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="inspect data sources and write subsets")
    sub = data.add_subparsers(dest="data_command", required=True)

    def source_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--source", default="sample",
                       help="sample | hub | a folder | a .jsonl/.json/.csv/.parquet file | subset:NAME (default: sample)")
        p.add_argument("--meta", default=None,
                       help="folder with the official pid_splits.json / captions.json (recovers pids of HF rows)")

    stats = sub.add_parser("stats", help="print a JSON summary of a source")
    source_args(stats)
    stats.add_argument("--split", default=None)
    stats.set_defaults(func=run_stats)

    subset = sub.add_parser("subset", help="filter + sample a source and write a subset folder")
    source_args(subset)
    where = subset.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="a bare NAME saves subset:NAME in the app home (the pages list it); "
                                     "a path (with a '/') writes that folder")
    where.add_argument("--name", help="save under the app home as subset:NAME (the same as a bare --out NAME)")
    subset.add_argument("--split", action="append", default=[], help="keep this split (repeatable)")
    subset.add_argument("--n", type=int, default=None,
                        help="how many questions in total (spread over splits and subjects in proportion); "
                             "with --per: up to N per subject / grade in each split")
    subset.add_argument("--per", choices=["subject", "grade"], default="", help="take N per subject / per grade")
    subset.add_argument("--seed", type=int, default=0)
    subset.add_argument("--text-only", choices=["drop", "caption"], default="",
                        help="drop image questions, or keep them with their caption as context")
    subset.add_argument("--subject", action="append", default=[], help="natural/social/language science (repeatable)")
    subset.add_argument("--grade-min", type=int, default=None)
    subset.add_argument("--grade-max", type=int, default=None)
    subset.add_argument("--topic", action="append", default=[])
    subset.add_argument("--category", action="append", default=[])
    subset.add_argument("--skill", action="append", default=[])
    subset.add_argument("--context", action="append", default=[], choices=["TXT", "IMG", "NO"])
    subset.add_argument("--choices", action="append", default=[], type=int, help="number of choices (repeatable)")
    subset.add_argument("--has-lecture", action="store_true", default=None)
    subset.add_argument("--has-solution", action="store_true", default=None)
    subset.add_argument("--search", default="", help="text to find in question, hint or choices")
    subset.add_argument("--overwrite", action="store_true")
    subset.set_defaults(func=run_subset)

    lst = sub.add_parser("list", help="list saved subsets")
    lst.set_defaults(func=run_list)


def run_stats(args: argparse.Namespace) -> int:
    from core.data.filtering import summarize
    from core.data.sources import load_source

    questions = load_source(args.source, args.split, meta=args.meta)
    print(json.dumps({"source": args.source, **summarize(questions)}, indent=2))
    return 0


def run_subset(args: argparse.Namespace) -> int:
    from core.data.filtering import Filters, apply_filters, describe_kept, stratified_sample
    from core.data.records import normalize_split
    from core.data.sources import load_source
    from core.data.subsets import is_subset_name, save_subset, write_subset

    filters = Filters(splits=tuple(normalize_split(s) for s in args.split), subjects=tuple(args.subject),
                      grade_min=args.grade_min, grade_max=args.grade_max, topics=tuple(args.topic),
                      categories=tuple(args.category), skills=tuple(args.skill), contexts=tuple(args.context),
                      n_choices=tuple(args.choices), has_lecture=args.has_lecture,
                      has_solution=args.has_solution, search=args.search, text_only=args.text_only)
    questions = load_source(args.source, meta=args.meta)
    matched = apply_filters(questions, filters)
    chosen = stratified_sample(matched, args.n, args.per, args.seed)
    manifest = {"source": args.source, "filters": filters.to_dict(), "n": args.n, "per": args.per, "seed": args.seed}
    name = args.name or (args.out if is_subset_name(args.out) else None)
    if name:
        folder = save_subset(name, chosen, manifest, overwrite=args.overwrite)
        where = f"subset:{folder.name} ({folder})"
    else:
        folder = write_subset(Path(args.out), chosen, manifest, overwrite=args.overwrite)
        where = str(folder)
    print(f"{describe_kept(chosen, len(matched), args.n, args.per)}; saved as {where}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from core.data.subsets import list_subsets

    for s in list_subsets():
        print(f"{s.name}\t{s.total}\t{s.manifest.get('source', '')}\t{s.manifest.get('created', '')}")
    return 0
