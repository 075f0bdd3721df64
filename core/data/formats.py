"""Reading ScienceQA's file formats into `list[Question]`, the same records whatever the format:

- the original release: `problems.json` + `pid_splits.json` + `captions.json` + `images/<split>/<pid>/image.png`;
- the Hugging Face copy (`derek-thomas/ScienceQA`): from the Hub through `datasets`, or its parquet files
  (`data/train-00000-of-00001.parquet`, ...); its rows carry no pid, so the official `pid_splits.json`
  (and `captions.json`) given as `meta` recover pids and image captions;
- rows files: `.jsonl`, `.json` (a list of rows or `{pid: row}`), `.csv` or `.parquet` of rows with
  ScienceQA field names (missing metadata is ''; `answer` is 0-based; CSV choices may be a JSON list).

Bad input is one StudioError naming the file and the row. Which source a spec names, who may read it and
the in-process cache are core.data.sources'.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.data.records import LETTERS, SPLIT_ORDER, Question, normalize_split, split_rank
from core.errors import StudioError

HUB_DATASET = "derek-thomas/ScienceQA"
TEXT_FIELDS = ("pid", "question", "hint", "lecture", "solution", "grade", "subject", "topic", "category", "skill",
               "caption", "split", "task")


# --- the original release -------------------------------------------------------------------------

def load_original(folder: Path) -> list[Question]:
    """problems.json (+ pid_splits.json, captions.json, images/<split>/<pid>/image.png)."""
    from core.files import read_json

    problems = read_json(folder / "problems.json")
    if not isinstance(problems, dict):
        raise StudioError(f"{folder / 'problems.json'} should map pid -> problem, got a {type(problems).__name__}.")
    split_of = _split_index(folder / "pid_splits.json")
    captions = _captions(folder / "captions.json")
    out = []
    for pid, row in problems.items():
        split = normalize_split(row.get("split") or split_of.get(pid, ""))
        image = folder / "images" / split / pid / str(row.get("image") or "image.png")
        has_image = bool(row.get("image"))
        row = {**row, "pid": pid, "split": split, "has_image": has_image,
               "caption": captions.get(pid, "") if has_image else "",
               "image": image if has_image and image.exists() else None}
        out.append(_question(row, folder / "problems.json", f"pid {pid}"))
    return out


def _split_index(path: Path) -> dict[str, str]:
    """pid -> split from a pid_splits.json (only train/val/test; the mini/trainval lists overlap)."""
    splits = _read_meta(path) if path.exists() else {}
    return {pid: name for name in SPLIT_ORDER for pid in splits.get(name, [])}


def _captions(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = _read_meta(path)
    return data.get("captions", data)


def _read_meta(path: Path) -> dict:
    from core.files import read_json

    data = read_json(path)
    if not isinstance(data, dict):
        raise StudioError(f"{path} should be a JSON object.")
    return data


# --- Hugging Face: the Hub and its parquet files --------------------------------------------------

def load_hub(meta: str | Path | None = None) -> list[Question]:
    """derek-thomas/ScienceQA from the Hub (cached by `datasets`). Fails fast offline."""
    from core.hub import get_token, require_hub

    require_hub(f"load {HUB_DATASET}")
    import datasets

    try:
        ds = datasets.load_dataset(HUB_DATASET, token=get_token())
    except (OSError, ValueError, ConnectionError) as e:
        raise StudioError(f"Could not load {HUB_DATASET} from the Hub: {str(e).splitlines()[0]}") from e
    # keep images as PNG/JPEG bytes: decoding ~10k images to PIL up front would take gigabytes
    undecoded = {name: ds[name].cast_column("image", datasets.Image(decode=False))
                 if "image" in ds[name].column_names else ds[name] for name in ds}
    return hf_rows_to_questions(undecoded, meta)


def load_parquet(files: list[Path], meta: str | Path | None = None) -> list[Question]:
    """Parquet files in the HF layout; the split is the file name's first part (train-00000-of-...)."""
    import pyarrow.parquet as pq

    by_split: dict[str, list[dict]] = {}
    for f in files:
        try:
            rows = pq.read_table(f).to_pylist()
        except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a broken file
            raise StudioError(f"{f} is not a readable parquet file (corrupt or truncated?): {e}") from e
        by_split.setdefault(f.name.split("-")[0].split(".")[0], []).extend(rows)
    return hf_rows_to_questions(by_split, meta, origin=files[0].parent)


def hf_rows_to_questions(splits: dict[str, Iterable[dict]], meta: str | Path | None = None,
                         origin: Path | str = HUB_DATASET) -> list[Question]:
    """Rows of the HF copy (no pid) -> Questions; pids and captions from `meta`'s official files."""
    meta = Path(meta) if meta else None
    pid_lists = _read_meta(meta / "pid_splits.json") if meta and (meta / "pid_splits.json").exists() else {}
    captions = _captions(meta / "captions.json") if meta else {}
    out = []
    for hf_name in sorted(splits, key=lambda s: split_rank(normalize_split(s))):
        split = normalize_split(hf_name)
        rows = list(splits[hf_name])
        pids = pid_lists.get(split)
        if pids is not None and len(pids) != len(rows):
            raise StudioError(f"{meta / 'pid_splits.json'} lists {len(pids)} '{split}' pids but {origin} has "
                              f"{len(rows)} rows: it is not the split file of this data.")
        for i, row in enumerate(rows):
            pid = pids[i] if pids else f"{split}-{i}"
            image = row.get("image")
            if isinstance(image, dict):  # parquet struct {bytes, path}
                image = image.get("bytes") or None
            out.append(_question({**row, "pid": pid, "split": split, "image": image, "has_image": image is not None,
                                  "caption": captions.get(pid, "") if image is not None else ""},
                                 origin, f"{hf_name} row {i}"))
    return out


# --- rows files: .jsonl / .json / .csv / .parquet ------------------------------------------------

def load_file(path: Path, meta: str | Path | None = None) -> list[Question]:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return load_parquet([path], meta or path.parent)
    if suffix == ".jsonl":
        rows = _read_jsonl(path)
    elif suffix == ".json":
        rows = _read_json_rows(path)
    elif suffix == ".csv":
        rows = _read_csv(path)
    else:
        raise StudioError(f"{path}: unsupported file type '{suffix}'; use .jsonl, .json, .csv or .parquet.")
    if not rows:
        raise StudioError(f"{path} has no rows.")
    split_of = _split_index(Path(meta) / "pid_splits.json") if meta else {}
    rows = [(where, _normalize_row(r, path, i)) for i, (where, r) in enumerate(rows)]
    for _, r in rows:  # rows without a split get it from the official split file, when given
        r["split"] = r["split"] or split_of.get(str(r["pid"]), "")
    return [_question(r, path, where) for where, r in rows]


def _read_jsonl(path: Path) -> list[tuple[str, dict]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise StudioError(f"{path} line {n} is not valid JSON (corrupt or truncated?): {e.msg}") from e
            if not isinstance(row, dict):
                raise StudioError(f"{path} line {n}: expected a JSON object, got {type(row).__name__}.")
            rows.append((f"line {n}", row))
    return rows


def _read_json_rows(path: Path) -> list[tuple[str, dict]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise StudioError(f"{path} is not valid JSON (corrupt or truncated?) at line {e.lineno}: {e.msg}") from e
    if isinstance(data, dict):  # problems.json style: {pid: row}
        return [(f"pid {k}", {"pid": k, **v}) for k, v in data.items() if isinstance(v, dict)]
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return [(f"row {i}", r) for i, r in enumerate(data)]
    raise StudioError(f"{path}: expected a list of row objects or an object mapping pid -> row.")


def _read_csv(path: Path) -> list[tuple[str, dict]]:
    with open(path, encoding="utf-8", newline="") as f:
        return [(f"line {i + 2}", dict(r)) for i, r in enumerate(csv.DictReader(f))]


def _normalize_row(row: dict, path: Path, i: int) -> dict:
    """Loosely typed rows (CSV strings, images as relative paths) -> from_dict's types."""
    row = {k: v for k, v in row.items() if k is not None}
    row.setdefault("pid", f"row{i + 1}")
    choices = row.get("choices")
    if isinstance(choices, str):
        try:
            row["choices"] = json.loads(choices) if choices.strip().startswith("[") else choices.split("|")
        except json.JSONDecodeError as e:
            raise StudioError(f"{path} row {row['pid']}: choices are not a valid JSON list: {e.msg}") from e
    answer = row.get("answer")
    if isinstance(answer, str) and len(answer.strip()) == 1 and answer.strip().upper() in LETTERS:
        row["answer"] = LETTERS.index(answer.strip().upper())
    image = row.get("image")
    if isinstance(image, str):  # a file name relative to the rows file (a saved subset's images/)
        file = path.parent / image if image.strip() else None
        row["image"] = file if file and file.is_file() else None
        row.setdefault("has_image", bool(image.strip()))
    if isinstance(row.get("has_image"), str):
        row["has_image"] = row["has_image"].strip().lower() in {"1", "true", "yes"}
    if re.fullmatch(r"\d{1,2}", str(row.get("grade") or "")):
        row["grade"] = f"grade{row['grade']}"
    row["split"] = normalize_split(row.get("split") or "")
    return row


def _question(row: dict[str, Any], origin: Path | str, where: str) -> Question:
    choices = row.get("choices")
    if isinstance(choices, list) and not all(isinstance(c, str | int | float) and not isinstance(c, bool)
                                             for c in choices):
        raise StudioError(f"{origin} ({where}): every choice must be text, not {choices!r:.80}")
    for key in TEXT_FIELDS:
        v = row.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, str | int | float)):
            raise StudioError(f"{origin} ({where}): the field {key!r} must be text, not {type(v).__name__}")
    try:
        return Question.from_dict(row)
    except (ValueError, TypeError) as e:
        raise StudioError(f"{origin} ({where}): {e}") from e
