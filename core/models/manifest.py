"""`studio.json`, the manifest of a model folder: what the model is, where it came from, how it was made.

Every model folder this app writes (the tiny preset, a converted nanochat, an adopted Hub folder, an
imported GGUF file, a run's final model) carries one, written only through `write_manifest`. Readers
(the catalogue, the pages' defaults, evaluation caches) use `read_manifest`, which never raises for a
missing or damaged file: the folder's files are untrusted input, so a bad manifest reads as None.

The common fields are typed; what only one kind of folder has (a nanochat stage and step, the tiny
model's spec, a GGUF file's sha256) lives in `extra`, stored flat beside them in the same JSON object.
Field names are a contract other modules rely on: add, never rename.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from core.files import write_json_atomic

FILENAME = "studio.json"
# tiny: from scratch here; converted: a raw nanochat checkpoint; transformers: a transformers folder
# adopted as is (Hub); gguf: imported from a GGUF file; run: a training run's final model.
KINDS = ("tiny", "converted", "transformers", "gguf", "run")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class Manifest:
    kind: str
    source: str  # where the weights came from: a Hub repo id, a file or folder, 'sample:train', a run's base model
    parameters: int | None = None
    family: str | None = None  # core.models.families name: 'nanochat', 'llama', ...; None where unknown
    created: str = field(default_factory=now)
    format: str | None = None  # the prompt format it was fine-tuned with here (core.data.prompts); None if never
    pretrained: bool = False  # a pretrained (chat) model, or fine-tuned from one; False: trained from scratch here
    base_model: str | None = None  # for a run: the model name it was trained from
    recipe: str | None = None  # for a run: the recipe's name
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        return {**{k: v for k, v in extra.items() if k not in d}, **d}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Manifest":
        """Tolerant: unknown keys go to `extra`, ill-typed known ones fall back to their defaults."""
        names = {f.name for f in fields(cls)} - {"extra"}
        kind = d.get("kind")
        m = cls(kind=kind if isinstance(kind, str) else "unknown", source=str(d.get("source") or ""),
                extra={k: v for k, v in d.items() if k not in names})
        params = d.get("parameters")
        m.parameters = params if isinstance(params, int) and not isinstance(params, bool) and params >= 0 else None
        for name in ("family", "format", "base_model", "recipe", "created"):
            if isinstance(d.get(name), str):
                setattr(m, name, d[name])
        if isinstance(d.get("pretrained"), bool):
            m.pretrained = d["pretrained"]
        return m

    def get(self, key: str, default: Any = None) -> Any:
        """A field or an `extra` entry by name (for the kind-specific ones: stage, step, spec, ...)."""
        if key in {f.name for f in fields(self)} - {"extra"}:
            return getattr(self, key)
        return self.extra.get(key, default)


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Write `folder`/studio.json atomically."""
    write_json_atomic(Path(folder) / FILENAME, manifest.to_dict())


def read_manifest(folder: Path | None) -> Manifest | None:
    """The folder's manifest; None where there is none or it is damaged (not JSON, not an object)."""
    if folder is None:
        return None
    path = Path(folder) / FILENAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not JSON, not UTF-8
        return None
    return Manifest.from_dict(data) if isinstance(data, dict) else None
