"""Read nanochat's `tokenizer.pkl` (a pickled `tiktoken.Encoding`) without running arbitrary code.

A pickle downloaded from the internet can call any importable function while it loads
(`os.system` through `__reduce__`). This unpickler admits exactly one global, the class
`tiktoken.core.Encoding`, and even that is replaced by a plain state holder: nothing from the file
is called. The state (name, split pattern, mergeable ranks, special tokens) is type-checked and
only then handed to `tiktoken.Encoding(...)`.

    from core.models.families.nanochat.safe_pickle import load_tiktoken_encoding
    enc = load_tiktoken_encoding(Path("tokenizer.pkl"))
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

from core.errors import StudioError

_ALLOWED = {("tiktoken.core", "Encoding"), ("tiktoken", "Encoding")}


class _EncodingState:
    """Stands in for tiktoken.Encoding while unpickling: BUILD hands it the state dict, nothing runs."""

    state: object = None

    def __setstate__(self, state: object) -> None:
        self.state = state


class _TiktokenUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's signature
        if (module, name) in _ALLOWED:
            return _EncodingState
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a tokenizer pickle")

    def persistent_load(self, pid):  # noqa: ANN001, ANN201
        raise pickle.UnpicklingError("persistent ids are not allowed in a tokenizer pickle")


def _check_state(state: object, path: Path) -> dict:
    if isinstance(state, str):
        raise StudioError(f"{path} refers to the registered tiktoken encoding '{state}' by name, not a nanochat "
                          "tokenizer; a nanochat checkpoint ships its own tokenizer.pkl.")
    if not isinstance(state, dict):
        raise StudioError(f"{path} is not a pickled tiktoken.Encoding (its state is a {type(state).__name__}).")
    pat, ranks, special = state.get("pat_str"), state.get("mergeable_ranks"), state.get("special_tokens")
    if not isinstance(pat, str):
        raise StudioError(f"{path}: the tokenizer has no split pattern (pat_str).")
    if not isinstance(ranks, dict) or not all(isinstance(k, bytes) and type(v) is int for k, v in ranks.items()):
        raise StudioError(f"{path}: mergeable_ranks must map bytes to int.")
    if not isinstance(special, dict) or not all(isinstance(k, str) and type(v) is int for k, v in special.items()):
        raise StudioError(f"{path}: special_tokens must map str to int.")
    return {"name": str(state.get("name") or "nanochat"), "pat_str": pat,
            "mergeable_ranks": ranks, "special_tokens": special}


def load_tiktoken_encoding(path: Path):
    """Unpickle a `tiktoken.Encoding` from `path`, refusing any pickle that would run code."""
    import tiktoken

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise StudioError(f"Cannot read the tokenizer {path}: {e.strerror or e}") from e
    try:
        obj = _TiktokenUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as e:
        raise StudioError(f"Refused to load {path}: {e}. Only a pickled tiktoken.Encoding is accepted "
                          "(a pickle from the internet could run code).") from e
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as e:
        raise StudioError(f"{path} is truncated or not a pickle ({type(e).__name__}: {e}).") from e
    if not isinstance(obj, _EncodingState):
        raise StudioError(f"{path} does not contain a tiktoken.Encoding (found {type(obj).__name__}).")
    kwargs = _check_state(obj.state, path)
    try:
        return tiktoken.Encoding(**kwargs)
    except ValueError as e:
        raise StudioError(f"{path}: the tokenizer is inconsistent: {e}") from e
