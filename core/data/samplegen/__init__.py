"""The embedded sample: ScienceQA-style questions this project writes itself, from seeded templates.

ScienceQA's license (CC BY-NC-SA) does not let the project ship its rows, so the offline sample at
`assets/sample/scienceqa_sample.jsonl` is generated here: each template (one skill, with ScienceQA's
subject/topic/category/skill metadata, a lecture, and a per-question solution) draws distinct
questions from a random generator seeded by (seed, template name). Choices that come from a template's
fixed label set (solid/liquid/gas, past/present/future tense, ...) keep the labels' natural order, and
unit estimates list their units smallest first, so the right letter follows the category; other choices are shuffled with a shuffle bag so the right
letter is spread evenly. Splits are 80/10/10 within every template.
The same seed always gives a byte-identical file.

    python -m core.data.samplegen              # rewrite the asset (seed 0)
    python -m core.data.samplegen --check      # exit 1 if the committed asset differs from a fresh build
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from core.data.records import Question
from core.data.samplegen import grammar, life, physics, social, units, words
from core.data.samplegen.common import Draft, Template
from core.files import write_text_atomic
from core.home import ASSETS

DEFAULT_SEED = 0
SAMPLE_PATH = ASSETS / "sample" / "scienceqa_sample.jsonl"
TEMPLATES: list[Template] = [*units.TEMPLATES, *physics.TEMPLATES, *life.TEMPLATES, *social.TEMPLATES,
                             *words.TEMPLATES, *grammar.TEMPLATES]
SPLIT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}
MAX_TRIES_PER_QUESTION = 200  # a template that cannot find `count` distinct questions in count*200 draws is too narrow


def _draw_unique(t: Template, rng: random.Random) -> list[Draft]:
    """`t.count` drafts with no two alike (same question, context and set of choices)."""
    seen: set[tuple] = set()
    drafts = []
    for _ in range(t.count * MAX_TRIES_PER_QUESTION):
        d = t.make(rng)
        key = (d.question, d.hint, frozenset([d.answer, *d.distractors]))
        if key not in seen:
            seen.add(key)
            drafts.append(d)
            if len(drafts) == t.count:
                return drafts
    raise ValueError(f"template {t.name}: found only {len(drafts)} distinct questions of {t.count}; "
                     f"add items to it or lower its count")


def _place(t: Template, d: Draft, rng: random.Random, bags: dict[int, list[int]]) -> tuple[list[str], int]:
    """Order the choices. Label choices keep the template's label order; others are shuffled, the answer's
    position coming from a shuffle bag per choice count, so within a template every letter is the answer
    equally often among shuffled rows (no position bias to learn)."""
    fixed = t.fixed_order([d.answer, *d.distractors])
    if fixed is not None:
        return fixed, fixed.index(d.answer)
    n = len(d.distractors) + 1
    bag = bags.setdefault(n, [])
    if not bag:
        bag.extend(range(n))
        rng.shuffle(bag)
    pos = bag.pop()
    others = list(d.distractors)
    rng.shuffle(others)
    return others[:pos] + [d.answer] + others[pos:], pos


def _split_names(n: int, rng: random.Random) -> list[str]:
    """80/10/10 split labels for n rows of one template, in random order."""
    n_val = max(1, round(n * SPLIT_FRACTIONS["val"]))
    n_test = max(1, round(n * SPLIT_FRACTIONS["test"]))
    labels = ["val"] * n_val + ["test"] * n_test + ["train"] * (n - n_val - n_test)
    rng.shuffle(labels)
    return labels


def _build(t: Template, seed: int) -> list[Question]:
    rng = random.Random(f"{seed}:{t.name}")  # str seeds are stable across runs and Python versions
    drafts = _draw_unique(t, rng)
    bags: dict[int, list[int]] = {}
    rows = []
    for d, split in zip(drafts, _split_names(len(drafts), rng)):
        choices, answer = _place(t, d, rng, bags)
        lo, hi = d.grades or t.grades
        rows.append(Question(
            pid="", question=d.question, choices=choices, answer=answer, split=split, hint=d.hint,
            has_image=False, caption="", task="closed choice", grade=f"grade{rng.randint(lo, hi)}",
            subject=t.subject, topic=t.topic, category=t.category, skill=t.skill, lecture=t.lecture,
            solution=d.solution,
        ))
    return rows


def generate(seed: int = DEFAULT_SEED) -> list[Question]:
    """Every template's questions, mixed in a seeded order, with pids s00001, s00002, ..."""
    rows = [q for t in TEMPLATES for q in _build(t, seed)]
    random.Random(f"{seed}:order").shuffle(rows)
    for i, q in enumerate(rows, 1):
        q.pid = f"s{i:05d}"
    return rows


def is_label_question(q: Question) -> bool:
    """Whether a generated question's choices come from its template's fixed labels (kept in label order)."""
    return TEMPLATE_BY_SKILL[q.skill].fixed_order(q.choices) is not None


def template_of(q: Question) -> str:
    """The name of the template a generated question came from (templates have distinct skills)."""
    return SKILL_TO_TEMPLATE[q.skill]


SKILL_TO_TEMPLATE = {t.skill: t.name for t in TEMPLATES}
TEMPLATE_BY_SKILL = {t.skill: t for t in TEMPLATES}
if len(SKILL_TO_TEMPLATE) != len(TEMPLATES):
    raise ValueError("every sample template needs its own skill")


def render_jsonl(questions: list[Question]) -> str:
    return "".join(json.dumps(q.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n" for q in questions)


def write_sample(path: Path = SAMPLE_PATH, seed: int = DEFAULT_SEED) -> list[Question]:
    questions = generate(seed)
    write_text_atomic(path, render_jsonl(questions))
    return questions


def summary(questions: list[Question]) -> str:
    """Counts by split, subject and template, as a markdown table per grouping."""
    lines = []
    for title, key in [("split", lambda q: q.split), ("subject", lambda q: q.subject),
                       ("template", template_of), ("choices", lambda q: str(len(q.choices)))]:
        lines += [f"| {title} | rows |", "|---|---|"]
        lines += [f"| {k} | {n} |" for k, n in sorted(Counter(key(q) for q in questions).items())]
        lines.append("")
    lines.append(f"total: {len(questions)} rows")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.data.samplegen", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=SAMPLE_PATH)
    parser.add_argument("--check", action="store_true", help="compare with the file at --out instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        fresh = render_jsonl(generate(args.seed))
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else None
        if current != fresh:
            print(f"{args.out} differs from a fresh generation with seed {args.seed}; "
                  f"run `python -m core.data.samplegen` to rewrite it", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    questions = write_sample(args.out, args.seed)
    print(summary(questions))
    print(f"wrote {args.out}")
    return 0
