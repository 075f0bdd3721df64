"""Streamlit views of background jobs (core.jobs): submit a request, follow its job live, show its ending.

UI only: what a job is, how it runs and what its states mean are core.jobs'. A page submits a request
under a session key; the job is followed on every rerun (and re-attached after a reload through
`reattach`); when it ends the page's `on_done` draws its result, or its error is shown in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

import admin_ui
from core import access
from core.errors import StudioError
from core.jobs import kinds, runs


def allowed(actor: access.Actor, action: str) -> tuple[bool, str]:
    """(whether this actor may do `action`, the reason shown on a disabled button when not): core.access's."""
    reason = access.refusal(actor, action)
    return reason is None, reason or ""


def submit(request: Any, actor: access.Actor, key: str) -> Path | None:
    """Submit `request`; the job is followed under `key`. A refusal is one line and starts nothing."""
    try:
        job = kinds.submit(request, actor=actor)
    except (StudioError, ValueError) as e:
        admin_ui.error(e, actor)
        return None
    st.session_state[key] = str(job.run_dir)
    return job.run_dir


def reattach(key: str, kind: str) -> None:
    """After a reload: follow the newest `kind` job still queued or running."""
    if key not in st.session_state and (active := kinds.find_active(kind, lambda _c: True)) is not None:
        st.session_state[key] = str(active)


def _live(run_dir: Path) -> None:
    status = runs.read_status(run_dir)
    if status.terminal:
        st.rerun()
    label = status.message or status.state
    if status.state == "queued" and status.waiting_for:
        label = f"queued: waiting for the device (in use by {status.waiting_for})"
    if status.total:
        st.progress(min(1.0, status.step / status.total), text=label)
    else:
        st.info(label, icon=":material/hourglass_top:")


def follow(key: str, actor: access.Actor, on_done: Callable[[Path], None]) -> None:
    """Draw the job under `key`: live while it runs; on its end `on_done(run_dir)` or its error, once."""
    value = st.session_state.get(key)
    if not value:
        return
    run_dir = Path(value)
    status = runs.read_status(run_dir)
    if status.active:
        st.fragment(run_every=1.0)(_live)(run_dir)
        return
    st.session_state.pop(key, None)
    if status.state == "done":
        on_done(run_dir)
    elif status.state == "stopped":
        st.info("Stopped.", icon=":material/stop_circle:")
    else:
        admin_ui.error(status.error or f"The job ended {status.state}.", actor)
