"""What every page shares about who is asking (Streamlit only; the policy itself is core.access).

    actor = admin_ui.actor()          # draws the admin sign-in in the sidebar, in public mode only (and
                                      # hides uncaught exceptions' details there: no traceback for a visitor)
    start_training(cfg, actor=actor)  # core refuses a visitor with a StudioError
    admin_ui.error(e, actor)          # the message, without server paths for a visitor

The signed-in actor is kept in the browser session; wrong passwords count per client address and in
total on disk (core.access), so opening a new session does not reset them.
"""

from __future__ import annotations

import streamlit as st

from core import access
from core.errors import StudioError

KEY = "admin_actor"


def _address() -> str:
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context (bare mode, tests): an unknown address
        return ""
    return ip if isinstance(ip, str) else ""


def hide_error_details() -> None:
    """Public mode: an uncaught exception shows Streamlit's generic message, never its text or traceback
    (they carry server paths). Called by app.py before any page and by every page through actor()."""
    if access.is_public_mode() and st.get_option("client.showErrorDetails") != "none":
        st.set_option("client.showErrorDetails", "none")


def actor() -> access.Actor:
    """The session's actor; in public mode the sidebar offers the admin sign-in (and sign-out)."""
    hide_error_details()
    address = _address()
    if not access.is_public_mode():
        return access.Actor(address=address, admin=True)
    signed = st.session_state.get(KEY)
    with st.sidebar:
        if isinstance(signed, access.Actor) and signed.admin:
            st.caption(":material/admin_panel_settings: Signed in as admin.")
            if st.button("Sign out", key="admin_sign_out", icon=":material/logout:"):
                st.session_state.pop(KEY, None)
                st.rerun()
            return signed
        with st.expander("Admin sign-in", icon=":material/lock:"):
            st.caption("This app is public: visitors can browse the data, compare the models already here and "
                       "chat. Training, deleting, downloading and sharing need the admin password.")
            with st.form("admin_sign_in_form", border=False):
                typed = st.text_input("Admin password", type="password", key="admin_password")
                if st.form_submit_button("Sign in", icon=":material/login:"):
                    try:
                        st.session_state[KEY] = access.sign_in(address, typed)
                        st.rerun()
                    except StudioError as e:
                        st.error(str(e))
    return access.Actor(address=address)


def gate(who: access.Actor, action: str) -> dict:
    """Keyword arguments for a widget `who` may not use: disabled, the reason as its help (core still refuses)."""
    reason = access.refusal(who, action)
    return {"disabled": True, "help": reason} if reason else {}


def error(e: Exception | str, who: access.Actor) -> None:
    """Show a StudioError's message as this actor may see it (no server paths for a visitor)."""
    st.error(access.shown(str(e), who))
