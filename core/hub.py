"""Hugging Face Hub access: is it reachable, and the user's token (never printed, logged or stored).

Offline is decided fast: `HF_HUB_OFFLINE=1` means offline without trying; otherwise one HEAD
request with a short timeout, remembered for a while so pages do not wait on every rerun.
"""

from __future__ import annotations

import os
import time

from core.errors import StudioError

HUB_URL = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
OFFLINE_HELP = ("Working offline: the embedded sample dataset, the pretrained SmolLM2-135M and the tiny model "
                "work without internet; Hub models and the full ScienceQA need a connection (or a local copy).")
_cache: dict[str, tuple[float, bool]] = {}


def offline_forced() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = 2.0, max_age: float = 60.0) -> bool:
    """True when the Hub answers within `timeout` seconds (result cached for `max_age` seconds)."""
    if offline_forced():
        return False
    hit = _cache.get(HUB_URL)
    if hit and time.monotonic() - hit[0] < max_age:
        return hit[1]
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(urllib.request.Request(HUB_URL + "/api/whoami-v2", method="HEAD"), timeout=timeout)
        ok = True
    except urllib.error.HTTPError:
        ok = True  # the Hub answered (401 without a token): it is reachable
    except (urllib.error.URLError, OSError, TimeoutError):
        ok = False
    _cache[HUB_URL] = (time.monotonic(), ok)
    return ok


def require_hub(what: str) -> None:
    """Raise a clear StudioError when the Hub cannot be reached."""
    if not hub_reachable():
        reason = "HF_HUB_OFFLINE is set" if offline_forced() else "the Hugging Face Hub cannot be reached"
        raise StudioError(f"Cannot {what}: {reason}. {OFFLINE_HELP}")


def get_token() -> str | None:
    """The Hub token from HF_TOKEN or the hub's login cache. Never print, log or store it."""
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if token:
        return token.strip() or None
    try:
        from huggingface_hub import get_token as hub_token

        return hub_token()
    except Exception:  # noqa: BLE001 - a broken login cache just means "no token"
        return None
