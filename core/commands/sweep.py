"""`python -m core sweep ...`: train a grid of settings, each evaluated on the same held-out questions;
`python -m core sweeps ...`: list, inspect, stop, resume and export sweeps.

    python -m core sweep --model tiny --data sample --grid lr=1e-4,3e-4 format=paper,tutor --minutes 3 --seeds 0,1
    python -m core sweep --model M --data SRC --grid matrix_lr=0.01,0.02 --epochs 1 --background
    python -m core sweeps list
    python -m core sweeps show SWEEP [--csv FILE] [--markdown FILE]
    python -m core sweeps stop SWEEP [--cancel]
    python -m core sweeps resume SWEEP

A grid entry is SETTING=V1,V2,...: `format` or any recipe field (lr, matrix_lr, batch_size, lora_r, ...).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sweep", help="train a grid of settings and compare them on the same questions")
    p.add_argument("--model", required=True, help="tiny | a Hub id | a local model folder | run:<id>")
    p.add_argument("--data", default="sample", help="sample | a file | a folder | subset:NAME (default: sample)")
    p.add_argument("--grid", nargs="+", required=True, metavar="SETTING=V1,V2",
                   help="settings to vary: format or recipe fields, e.g. lr=1e-4,3e-4 format=paper,tutor")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, default=None, help="train each member for this long")
    budget.add_argument("--epochs", type=float, default=None, help="train each member for this many epochs")
    p.add_argument("--seeds", default="0", help="comma-separated seeds; each setting is trained once per seed")
    p.add_argument("--recipe", default=None, help="the base recipe (default: tiny for the tiny model, else default)")
    p.add_argument("--format", default=None, help="the prompt format of settings that do not vary it")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="a recipe setting every run shares, e.g. --set save_every=50 (repeatable)")
    p.add_argument("--eval-questions", type=int, default=500,
                   help="held-out questions every member is scored on (default 500; 0: all)")
    p.add_argument("--name", default=None, help="the sweep's folder name (default: sweep-<time>)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    p.add_argument("--report-to", default="", metavar="TRACKERS", help="trackers for every member: trackio,tensorboard")
    p.add_argument("--background", action="store_true", help="launch the sweep and return at once")
    p.set_defaults(func=run_sweep)

    s = subparsers.add_parser("sweeps", help="list, inspect, stop, resume and export sweeps")
    sub = s.add_subparsers(dest="sweeps_command", required=True)
    sub.add_parser("list", help="all sweeps, newest first").set_defaults(func=run_list)
    for name, func, text in [("show", run_show, "the results table, best setting and significant differences"),
                             ("stop", run_stop, "stop the whole sweep (the current member saves a checkpoint)"),
                             ("resume", run_resume, "resume a stopped, failed or crashed sweep")]:
        sp = sub.add_parser(name, help=text)
        sp.add_argument("sweep")
        if name == "stop":
            sp.add_argument("--cancel", action="store_true", help="stop without saving a checkpoint")
        if name == "show":
            sp.add_argument("--csv", type=Path, default=None, help="write the table as CSV here")
            sp.add_argument("--markdown", type=Path, default=None, help="write a model-card section here")
            sp.add_argument("--json", action="store_true", help="print the results as JSON")
        sp.set_defaults(func=func)


def _seeds(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--seeds takes whole numbers separated by commas, not {text!r}") from None


def _fixed(items: list[str]) -> dict:
    from core.training import sweep_grid

    out = {}
    for item in items:
        grid = sweep_grid.parse_grid([item])
        (key, values), = grid.items()
        if len(values) != 1 or key == "format":
            raise ValueError(f"--set takes one recipe setting and one value (FIELD=VALUE), not {item!r}")
        out[key] = values[0]
    return out


def run_sweep(a: argparse.Namespace) -> int:
    from core.training import sweep_folder, sweep_grid, sweep_results, sweeps
    from core.training.tracking import parse_report_to

    sweep_dir = sweeps.create_sweep(a.model, a.data, sweep_grid.parse_grid(a.grid), seeds=_seeds(a.seeds),
                                    minutes=a.minutes, epochs=a.epochs, recipe=a.recipe, fmt=a.format,
                                    eval_questions=a.eval_questions or None, name=a.name,
                                    report_to=parse_report_to(a.report_to), device=a.device,
                                    fixed=_fixed(a.set))
    spec = sweep_folder.read_spec(sweep_dir)
    print(f"sweep {sweep_dir.name}: {len(spec['members'])} runs, each scored on {spec['eval']['n']} questions "
          f"({spec['eval']['how']})", flush=True)
    if a.background:
        sweeps.start_sweep(sweep_dir)
        print(f"launched (follow: python -m core sweeps show {sweep_dir.name})")
        return 0
    state = sweeps.run_driver(sweep_dir, echo=lambda s: print(s, flush=True))  # this process is the driver
    print(sweep_results.to_markdown(sweep_results.results(sweep_dir)))
    return 0 if state == "done" else 1


def _sweep_dir(name: str) -> Path:
    from core.errors import StudioError
    from core.home import area
    from core.jobs import runs

    p = Path(name)
    if not runs.has_config(p):
        p = area("sweeps") / name
    if not runs.has_config(p):
        raise StudioError(f"No sweep named {name!r} (python -m core sweeps list shows them).")
    return p


def run_list(a: argparse.Namespace) -> int:
    from core.training import sweep_folder

    rows = sweep_folder.list_sweeps()
    if not rows:
        print("no sweeps")
    for r in rows:
        s = r.status
        print(f"{r.name:28} {s.state:9} {s.step}/{s.total} runs  {r.config.get('model', '')} on "
              f"{r.config.get('data', '')}  grid {json.dumps(r.config.get('grid'))}")
    return 0


def run_show(a: argparse.Namespace) -> int:
    from core.files import write_text_atomic
    from core.jobs import runs
    from core.training import sweep_results

    d = _sweep_dir(a.sweep)
    res = sweep_results.results(d)
    if a.csv:
        write_text_atomic(a.csv, sweep_results.to_csv(res))
    if a.markdown:
        write_text_atomic(a.markdown, sweep_results.to_markdown(res))
    if a.json:
        print(json.dumps(res, indent=2, default=str))
        return 0
    st = runs.read_status(d)
    print(f"{d.name}: {st.state} ({st.step}/{st.total} runs){': ' + st.error if st.error else ''}")
    print(sweep_results.to_markdown(res))
    return 0


def run_stop(a: argparse.Namespace) -> int:
    from core.training import sweeps

    d = _sweep_dir(a.sweep)
    sweeps.stop_sweep(d, cancel=a.cancel)
    print(f"{d.name}: {'cancel' if a.cancel else 'stop'} requested")
    return 0


def run_resume(a: argparse.Namespace) -> int:
    from core.training import sweeps

    d = _sweep_dir(a.sweep)
    pid = sweeps.resume_sweep(d)
    print(f"resumed {d.name} (pid {pid})")
    return 0
