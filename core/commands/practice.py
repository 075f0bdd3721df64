"""`python -m core practice ...`: start, list, show, export, stop and delete practice sessions.

    python -m core practice start --data sample --n 10 --grade 3-5 --subject "natural science" --model tiny
    python -m core practice list
    python -m core practice show CODE
    python -m core practice export CODE --csv answers.csv
    python -m core practice stop CODE
    python -m core practice delete CODE

`start` prints the join code on its last line (students type it on the class link's Practice tab).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("practice", help="practice sessions for a class (on the class link)")
    sub = p.add_subparsers(dest="practice_command", required=True)
    s = sub.add_parser("start", help="draw the questions and print the join code")
    s.add_argument("--data", default="sample", help="sample | hub | a folder or file | subset:NAME")
    s.add_argument("--n", type=int, default=10, help="number of questions (1-50)")
    s.add_argument("--grade", default=None, help="a grade or a range, e.g. 3-5")
    s.add_argument("--subject", default=None, help="natural science | social science | language science")
    s.add_argument("--model", default=None, help="score this model on the questions, beside the class")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=run_start)
    sub.add_parser("list", help="all sessions, newest first").set_defaults(func=run_list)
    for name, func, text in [("show", run_show, "who joined and how the class did, per question and skill"),
                             ("stop", run_stop, "close a session (answers are kept)"),
                             ("delete", run_delete, "delete a session and all its answers"),
                             ("export", run_export, "write the answers as CSV")]:
        sp = sub.add_parser(name, help=text)
        sp.add_argument("code")
        if name == "export":
            sp.add_argument("--csv", type=Path, required=True, help="the CSV file to write")
        sp.set_defaults(func=func)


def run_start(a: argparse.Namespace) -> int:
    from core.practice import report, sessions

    session = sessions.create(a.data, a.n, a.grade, a.subject, a.model, a.seed)
    print(f"{session.n} questions from {session.source}" + (f", grades {session.grades}" if session.grades else "")
          + (f", {session.subject}" if session.subject else ""), file=sys.stderr)
    if a.model:
        m = report.model_answers(session.code)
        print(f"{a.model} answers {sum(v['correct'] for v in m['answers'].values())} of {session.n} right "
              "(categorical, as Compare scores)", file=sys.stderr)
    print(session.code)
    return 0


def run_list(a: argparse.Namespace) -> int:
    from core.practice import sessions

    rows = sessions.list_sessions()
    if not rows:
        print("no practice sessions")
    for s in rows:
        joined = len(sessions.students(s.code))
        print(f"{s.code:8} {s.status:7} {s.n:>3} questions {joined:>3} students  "
              f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(s.created))}  {s.source}"
              + (f" grades {s.grades}" if s.grades else "") + (f" {s.subject}" if s.subject else ""))
    return 0


def run_show(a: argparse.Namespace) -> int:
    from core.practice import report

    v = report.class_view(a.code)
    s = v.session
    print(f"{s.code} ({s.status}): {len(v.nicknames)} joined, {v.answers} answers to {s.n} questions")
    if v.nicknames:
        print("joined: " + ", ".join(v.nicknames))
    for r in v.questions:
        acc = "   -" if r["accuracy"] is None else f"{r['accuracy']:4.0%}"
        model = f"  model {r['model answer']} {'right' if r['model right'] else 'wrong'}" if r["model answer"] else ""
        print(f"Q{r['#']:<3} {acc} of {r['answered']:>3}  hints {r['hints used']:>2}  "
              f"{('wrong most: ' + r['most chosen wrong']) if r['most chosen wrong'] else ''}{model}  [{r['skill']}]")
    for r in v.skills:
        acc = "   -" if r["accuracy"] is None else f"{r['accuracy']:4.0%}"
        print(f"skill {acc} of {r['answered']:>3}  {r['skill']}")
    return 0


def run_export(a: argparse.Namespace) -> int:
    from core.practice import report

    path = report.export_csv(a.code, a.csv)
    print(f"wrote {path}")
    return 0


def run_stop(a: argparse.Namespace) -> int:
    from core.practice import sessions

    s = sessions.stop(a.code)
    print(f"{s.code}: closed")
    return 0


def run_delete(a: argparse.Namespace) -> int:
    from core.practice import sessions

    sessions.delete(a.code)
    print(f"deleted practice session {a.code.strip().upper()}")
    return 0
