"""Saved subsets of ScienceQA questions: a selection (core.data.filtering) written as a folder
`area("subsets")/<name>/` with `questions.jsonl` (+ `images/`) and `manifest.json` saying how it was made;
any command accepts it as a source (`subset:NAME` or the folder path). Listing, describing and deleting them.

    python -m core data subset --source sample --out DIR --n 200 --per subject --seed 0
"""

from __future__ import annotations

import io
import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core import access
from core.data.filtering import Filters, describe_kept, stratified_sample, summarize
from core.data.records import Question, content_hash
from core.errors import StudioError
from core.files import atomic_dir, read_json, write_json_atomic
from core.home import area

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FILTER_WORDS = {"splits": "split", "subjects": "subject", "topics": "topic", "categories": "category",
                "skills": "skill", "contexts": "context", "n_choices": "choices", "search": "text"}


def describe_filters(manifest: dict[str, Any]) -> str:
    """The filters and sampling that made a saved subset, in a few words ('all questions' when none)."""
    f = manifest.get("filters") or {}
    parts = []
    for key, word in FILTER_WORDS.items():
        if f.get(key):
            value = f[key]
            parts.append(f"{word} {', '.join(map(str, value)) if isinstance(value, list) else value}")
    if f.get("grade_min") is not None or f.get("grade_max") is not None:
        parts.append(f"grades {f.get('grade_min', 1)}-{f.get('grade_max', 12)}")
    for key, word in (("has_lecture", "lecture"), ("has_solution", "solution")):
        if f.get(key) is not None:
            parts.append(f"{'with' if f[key] else 'without'} {word}")
    if f.get("text_only") == "drop":
        parts.append("no image questions")
    if manifest.get("n"):
        parts.append(f"{manifest['n']} per {manifest['per']}" if manifest.get("per") else f"{manifest['n']} sampled")
    return "; ".join(parts) or "all questions"


def subset_rows(saved: list["SubsetInfo"], actor: access.Actor | None = None) -> list[dict[str, Any]]:
    """The saved-subsets table: splits as numbers, what made each subset, where it came from (its text as
    `actor` may see it: a visitor sees no server path in "made from" or "source")."""
    rows = []
    for s in saved:
        by_split = s.manifest.get("by_split") or {}
        rows.append({"name": s.name, "questions": s.total, **{k: int(by_split.get(k, 0)) for k in ("train", "val", "test")},
                     "made from": access.shown(describe_filters(s.manifest), actor),
                     "source": access.shown(str(s.manifest.get("source", "")), actor),
                     "created": str(s.manifest.get("created", ""))})
    return rows


# --- saved subsets ------------------------------------------------------------------------------

def validate_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise StudioError("Give the subset a name first (e.g. grade3-science).")
    if not NAME_RE.fullmatch(name):
        raise StudioError(f"'{name}' cannot be a subset name: use up to 64 letters, digits, '.', '_' or '-', "
                          "starting with a letter or digit.")
    return name


def is_subset_name(text: str) -> bool:
    """A bare name (no folder separators): the CLI saves it as a named subset in the app home."""
    return bool(NAME_RE.fullmatch(text)) and "/" not in text and text not in (".", "..")


def write_subset(folder: Path, questions: list[Question], manifest: dict[str, Any] | None = None,
                 overwrite: bool = False) -> Path:
    """Write questions.jsonl (+ images/) and manifest.json into `folder`, atomically."""
    if not questions:
        raise StudioError("The filters select no questions: nothing to save. Loosen the filters.")
    folder = Path(folder)
    if folder.exists() and not overwrite:
        raise StudioError(f"{folder} already exists; choose another name or delete it first.")
    info = {**(manifest or {}), **summarize(questions), "content_hash": content_hash(questions),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        lines = []
        for q in questions:
            row = q.to_dict()
            image = _save_image(q, tmp / "images")
            if image:
                row["image"] = f"images/{image}"
            lines.append(json.dumps(row, ensure_ascii=False))
        (tmp / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        write_json_atomic(tmp / "manifest.json", info)
    return folder


def _save_image(q: Question, folder: Path) -> str | None:
    """Copy the question's image (path, bytes or PIL) into the subset; returns its file name."""
    img = q.image
    if img is None:
        return None
    folder.mkdir(exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", q.pid)
    if isinstance(img, (str, Path)):
        dst = folder / f"{safe}{Path(img).suffix or '.png'}"
        shutil.copyfile(img, dst)
    elif isinstance(img, (bytes, bytearray)):
        ext = ".jpg" if bytes(img[:3]) == b"\xff\xd8\xff" else ".png"
        dst = folder / f"{safe}{ext}"
        dst.write_bytes(img)
    else:  # a PIL image
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        dst = folder / f"{safe}.png"
        dst.write_bytes(buf.getvalue())
    return dst.name


def save_subset(name: str, questions: list[Question], manifest: dict[str, Any] | None = None,
                overwrite: bool = False, actor: access.Actor | None = None) -> Path:
    """Save under area('subsets')/<name>/; load it back with core.data.sources.load_source('subset:NAME')."""
    access.require(actor, "Saving a subset")
    name = validate_name(name)
    if (area("subsets") / name).exists() and not overwrite:
        raise StudioError(f"A subset named '{name}' already exists: choose another name, or delete that one first.")
    return write_subset(area("subsets") / name, questions, manifest, overwrite)


def save_selection(name: str, selected: list[Question], n: int, per: str, seed: int, source: str, filters: Filters,
                   actor: access.Actor | None = None) -> tuple[Path, str]:
    """Sample the questions that pass `filters` (`n` 0: all of them) and save them as subset `name`, with a
    manifest that says how they were made. Returns the folder and a line saying what was kept."""
    n_or_all = int(n) or None
    chosen = stratified_sample(selected, n_or_all, per, int(seed))
    manifest = {"source": source, "filters": filters.to_dict(), "n": n_or_all, "per": per, "seed": int(seed)}
    folder = save_subset(name, chosen, manifest, actor=actor)
    return folder, describe_kept(chosen, len(selected), n_or_all, per)


@dataclass
class SubsetInfo:
    name: str
    path: Path
    manifest: dict[str, Any] = field(repr=False)

    @property
    def total(self) -> int:
        return int(self.manifest.get("total", 0))


def list_subsets() -> list[SubsetInfo]:
    """Saved subsets, newest first (a subset whose manifest is damaged is skipped, not raised)."""
    out = []
    for d in area("subsets").iterdir():
        if d.is_dir() and not d.is_symlink() and not d.name.startswith(".") and (d / "manifest.json").exists():
            try:
                manifest = read_json(d / "manifest.json")
            except StudioError:
                continue
            if isinstance(manifest, dict):
                out.append(SubsetInfo(d.name, d, manifest))
    return sorted(out, key=lambda s: (s.manifest.get("created", ""), s.name), reverse=True)


def delete_subset(name: str, actor: access.Actor | None = None) -> None:
    access.require(actor, "Deleting a subset")
    folder = area("subsets") / validate_name(name)
    if not (folder / "manifest.json").exists():
        raise StudioError(f"No saved subset named '{name}'.")
    shutil.rmtree(folder)
