"""Load ScienceQA from any source as `list[Question]`: one loader, five formats, the same records.

Sources (the `spec` string):
- `sample`: the embedded sample, assets/sample/scienceqa_sample.jsonl (works offline).
- `hub`: `derek-thomas/ScienceQA` through `datasets.load_dataset` (needs the internet).
- a folder: the Hugging Face parquet layout (`data/train-00000-of-00001.parquet`, ...), the original
  release (`problems.json` + `pid_splits.json` + `captions.json` + `images/<split>/<pid>/image.png`),
  or a saved subset (`questions.jsonl` + `manifest.json`).
- a file: `.jsonl`, `.json`, `.csv` or `.parquet` of rows with ScienceQA field names.
- `subset:NAME`: a subset saved under the app home (core/data/subsets.py writes them).

This module resolves a spec to its files, checks who may read it, picks the reader (each format is read by
core.data.formats) and caches loads in-process by (spec, meta, modification time). Hub and parquet rows
carry no pid: giving the official `pid_splits.json` (and `captions.json`) through `meta=DIR` (or keeping
them beside the data) recovers pids and image captions.

    python -m core data stats --source sample
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path

from core import access
from core.data.formats import load_file, load_hub, load_original, load_parquet
from core.data.records import Question, normalize_split, split_rank
from core.errors import StudioError
from core.home import ASSETS, area

SAMPLE_PATH = ASSETS / "sample" / "scienceqa_sample.jsonl"
_cache: dict[tuple, list[Question]] = {}
_cache_lock = threading.RLock()  # pages, the chat's lesson index and calibration threads load at once


def default_source() -> str:
    return "sample"


OFFERED = re.compile(r"^(sample|hub|subset:[A-Za-z0-9][A-Za-z0-9._-]{0,63})$")


def check_source(spec: str, actor: access.Actor | None = None) -> None:
    """Public mode: a visitor reads only the data offered (sample, hub, saved subsets), never a server path."""
    if not OFFERED.match(str(spec).strip()):
        access.require(actor, "Reading a file or folder on the server")


def load_source(spec: str, split: str | None = None, meta: str | Path | None = None,
                actor: access.Actor | None = None) -> list[Question]:
    """All questions of a source (or of one split). Raises StudioError on bad input; in public mode a
    visitor may read only the offered sources (`check_source`)."""
    spec = str(spec).strip()
    if not spec:
        raise StudioError("No data source given: use 'sample', 'hub', a folder, a file, or subset:NAME.")
    check_source(spec, actor)
    if meta:
        access.require(actor, "Reading a file on the server")
    key = (spec, str(meta or ""), source_stamp(spec, meta))
    with _cache_lock:
        if key not in _cache:
            questions = _load(spec, meta)
            for old in [k for k in _cache if k[:2] == key[:2]]:  # an older version of the same files
                del _cache[old]
            _cache[key] = questions
        questions = _cache[key]
    if split is None:
        return list(questions)
    want = normalize_split(split)
    chosen = [q for q in questions if q.split == want]
    if not chosen:
        have = _splits_of(questions)
        raise StudioError(f"Split '{split}' is not in {spec}; "
                          f"available splits: {', '.join(have) or 'none (rows have no split)'}.")
    return chosen


def source_splits(spec: str, meta: str | Path | None = None) -> list[str]:
    """The splits present in a source, in train/val/test order ([] when rows have no split)."""
    return _splits_of(load_source(spec, meta=meta))


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def resolve_path(spec: str) -> Path | None:
    """The file or folder behind a spec (None for the Hub)."""
    if spec == "hub":
        return None
    if spec == "sample":
        return SAMPLE_PATH
    if spec.startswith("subset:"):
        name = spec.split(":", 1)[1]
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            raise StudioError(f"Invalid subset name {name!r} in {spec!r}.")
        return area("subsets") / name
    return Path(spec).expanduser()


def _splits_of(questions: Iterable[Question]) -> list[str]:
    return sorted({q.split for q in questions if q.split}, key=split_rank)


def source_stamp(spec: str, meta: str | Path | None = None) -> float:
    """The newest modification time of a source's files: a cache key that changes when they do."""
    path = resolve_path(spec)
    if path is None or not path.exists():
        return 0.0
    # top level and data/ only: an original-format folder holds thousands of image folders
    files = [path] if path.is_file() else [p for p in [*path.glob("*"), *path.glob("data/*")]
                                           if p.suffix in {".json", ".jsonl", ".parquet"}]
    if meta:
        files += list(Path(meta).glob("*.json"))
    return max((p.stat().st_mtime for p in files), default=path.stat().st_mtime)


def _load(spec: str, meta: str | Path | None) -> list[Question]:
    if spec == "hub":
        return load_hub(meta)
    path = resolve_path(spec)
    if spec == "sample" and not path.exists():
        raise StudioError(f"The embedded sample is missing: {path}. Reinstall the app or pick another source.")
    if spec.startswith("subset:") and not path.exists():
        raise StudioError(f"No saved subset named '{spec.split(':', 1)[1]}' (looked in {path.parent}).")
    if not path.exists():
        raise StudioError(f"{path} does not exist: give 'sample', 'hub', a folder, "
                          "a .jsonl/.json/.csv/.parquet file, or subset:NAME.")
    if path.is_file() and path.name == "problems.json" and meta is None:
        return load_original(path.parent)  # as choosing its folder does: pid_splits.json and captions.json beside it
    if path.is_file():
        return load_file(path, meta)
    if (path / "problems.json").exists():
        return load_original(path)
    if (path / "questions.jsonl").exists():
        return load_file(path / "questions.jsonl")
    parquet = sorted(path.glob("data/*.parquet")) or sorted(path.glob("*.parquet"))
    if parquet:
        return load_parquet(parquet, meta or path)
    raise StudioError(f"{path} is not a ScienceQA folder: expected problems.json (original release), "
                      "data/*.parquet (Hugging Face layout) or questions.jsonl (saved subset).")
