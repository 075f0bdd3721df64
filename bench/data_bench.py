"""How fast is the data layer at full ScienceQA size (21,208 questions)?

Builds a full-size copy from the real files: the 150 real problems repeated under the 21,208 official
pids of full/pid_splits.json (train 12,726 / val 4,241 / test 4,241), written as an HF-layout parquet
folder (real test images as PNG bytes), a JSON Lines file, and an original-release problems.json.
Measures a cold load, a cached load, building the filter frame, and a filter change (subject + grade
range + context + text search), beside the baseline of filtering the Question objects in Python;
then the Data page's script run (server side, Streamlit's AppTest) on the same 21,208 rows.

    python -m bench.data_bench            # prints two markdown tables
    python -m bench.data_bench --rows ROWS.jsonl --baseline-page OLD_1_Data.py
        # only the page: subject filter changes on ROWS, this page beside another version of it, in
        # alternating rounds (e.g. OLD = `git show <commit>:views/1_Data.py`)
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "scienceqa"
HF_COLUMNS = ["question", "choices", "answer", "hint", "task", "grade", "subject", "topic", "category", "skill",
              "lecture", "solution"]


def build(out: Path) -> dict[str, str]:
    """Write the three full-size copies under `out`; returns spec per format."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    problems = json.loads((SHARED / "original" / "problems.json").read_text())
    base = list(problems.items())
    splits = json.loads((SHARED / "full" / "pid_splits.json").read_text())
    rows, hf = {}, {}
    for split, hf_name in [("train", "train"), ("val", "validation"), ("test", "test")]:
        hf[hf_name] = []
        for i, pid in enumerate(splits[split]):
            src_pid, p = base[i % len(base)]
            png = SHARED / "original" / "images" / "test" / src_pid / "image.png"
            image = {"bytes": png.read_bytes(), "path": "image.png"} if p["image"] and png.exists() else None
            hf[hf_name].append({"image": image, **{k: p[k] for k in HF_COLUMNS}})
            rows[pid] = {**p, "split": split, "image": None}
    (out / "hf" / "data").mkdir(parents=True)
    for hf_name, table in hf.items():
        pq.write_table(pa.Table.from_pylist(table), out / "hf" / "data" / f"{hf_name}-00000-of-00001.parquet")
    (out / "hf" / "pid_splits.json").write_text(json.dumps({k: splits[k] for k in ("train", "val", "test")}))
    (out / "original").mkdir()
    (out / "original" / "problems.json").write_text(json.dumps(rows))
    with open(out / "rows.jsonl", "w") as f:
        for pid, r in rows.items():
            f.write(json.dumps({"pid": pid, **r}) + "\n")
    return {"parquet (HF layout)": str(out / "hf"), "problems.json (original)": str(out / "original"),
            "JSON Lines": str(out / "rows.jsonl")}


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=Path, default=None, help="a 21,208-row JSON Lines file: time only the page")
    p.add_argument("--baseline-page", type=Path, default=None, help="another version of views/1_Data.py to time beside")
    a = p.parse_args(argv)
    if a.rows:
        if a.baseline_page:
            page_side_by_side(a.rows, a.baseline_page)
        else:
            page_timings(a.rows)
        return 0
    from core.data import sources
    from core.data.filtering import Filters, build_frame, filter_frame

    filters = Filters(subjects=("natural science",), grade_min=3, grade_max=8, contexts=("TXT",), search="which")

    def baseline(qs):  # the same filter on Question objects, no frame
        return [q for q in qs if q.subject == "natural science" and q.grade_number is not None
                and 3 <= q.grade_number <= 8 and "TXT" in q.context_groups
                and "which" in "\n".join([q.question, q.hint, *q.choices]).lower()]

    print("| source (21,208 rows) | cold load | cached load | ratio | build frame | filter (frame) "
          "| filter (Python baseline) | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in build(Path(tmp)).items():
            sources.clear_cache()
            cold, qs = timed(lambda: sources.load_source(spec))
            assert len(qs) == 21208, len(qs)
            warm, _ = timed(lambda: sources.load_source(spec), repeat=5)
            t_frame, frame = timed(lambda: build_frame(qs))
            t_filter, sel = timed(lambda: filter_frame(frame, filters), repeat=5)
            t_base, chosen = timed(lambda: baseline(qs), repeat=5)
            assert [qs[i] for i in sel.index] == chosen
            print(f"| {name} | {cold:.2f} s | {warm * 1000:.1f} ms | {cold / warm:.0f}x | {t_frame * 1000:.0f} ms "
                  f"| {t_filter * 1000:.1f} ms ({len(sel):,} rows) | {t_base * 1000:.1f} ms | {t_base / t_filter:.1f}x |")
        page_timings(Path(tmp) / "rows.jsonl")
    return 0


def page_timings(rows: Path) -> None:
    """The Data page on 21,208 rows (the JSON Lines copy stands in for the embedded sample)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["SQA_STUDIO_HOME"] = str(rows.parent / "home")
    from streamlit.testing.v1 import AppTest

    from core.data import sources

    sources.SAMPLE_PATH = rows
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "views" / "1_Data.py"), default_timeout=300)
    steps = [("first run (load + frame + render)", lambda: at.run()), ("rerun, nothing changed", lambda: at.run()),
             ("filter change: subject", lambda: at.multiselect(key="f_subject").set_value(["natural science"]).run()),
             ("filter change: text search", lambda: at.text_input(key="f_search").input("which").run()),
             ("filter change: clear search", lambda: at.text_input(key="f_search").input("").run())]
    print("\n| Data page, 21,208 rows (AppTest, server side) | seconds | selected |")
    print("|---|---|---|")
    for name, step in steps:
        t, _ = timed(step)
        assert not at.exception, at.exception
        print(f"| {name} | {t:.2f} | {at.metric[0].value} |")


def page_side_by_side(rows: Path, baseline: Path, rounds: int = 3) -> None:
    """Subject filter changes on this Data page and on `baseline`, alternating rounds on the same rows."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["SQA_STUDIO_HOME"] = str(rows.parent / "home")
    from streamlit.testing.v1 import AppTest

    from core.data import sources

    sources.SAMPLE_PATH = rows
    pages = {"baseline": baseline, "this page": Path(__file__).resolve().parent.parent / "views" / "1_Data.py"}
    apps = {k: AppTest.from_file(str(v), default_timeout=300) for k, v in pages.items()}
    for at in apps.values():
        at.run()
        at.run()
    times: dict[str, list[float]] = {k: [] for k in pages}
    for _ in range(rounds):
        for k, at in apps.items():
            for value in (["natural science"], ["social science"], []):
                t = time.perf_counter()
                at.multiselect(key="f_subject").set_value(value).run()
                times[k].append(time.perf_counter() - t)
                assert not at.exception, at.exception
    print("| Data page, 21,208 rows: filter change (subject) | median | range |")
    print("|---|---|---|")
    for k, v in times.items():
        print(f"| {k} | {statistics.median(v):.2f} s | {min(v):.2f}-{max(v):.2f} s |")
    print(f"\nspeed-up: {statistics.median(times['baseline']) / statistics.median(times['this page']):.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
