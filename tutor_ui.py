"""Streamlit widgets of the Tutor page (views/5_Tutor.py): the sidebar's choices, the conversation, and the
class link's section. UI only: what the fields mean and which answerer replies are core.evaluation.tutor's;
the class link itself is classroom.py's."""

from __future__ import annotations

from types import SimpleNamespace

import streamlit as st

import admin_ui
import classroom_launcher
from core import access
from core.data.prompts import DEFAULT_SYSTEM_PROMPT
from core.errors import StudioError
from core.evaluation import capability, tutor
from core.evaluation.recommend import recommended_model
from core.models import catalogue
from core.serving import chat


@st.cache_resource(max_entries=2, show_spinner="Loading model…")
def load(path: str):
    return chat.get_model(path)  # one copy per process, shared by every session


@st.cache_resource
def limiter() -> chat.RateLimiter:
    return chat.RateLimiter(max_requests=10, window=60.0)


@st.cache_data(show_spinner=False)
def examples(fmt: str) -> list[tuple[str, str]]:
    return chat.example_questions(3, fmt)


def sidebar(actor, names: list[str]) -> SimpleNamespace:
    """The model, the student's grade, lessons on/off, the expert settings (the family's measured defaults)
    and, for a trusted user, the school's server. Returns the chosen values."""
    state = st.session_state
    with st.sidebar:
        st.header("Tutor")
        default = recommended_model(names).model  # the best measured on the same questions, as Home says
        options = names + ([default] if default not in names else [])
        model = st.selectbox("Model", options, index=options.index(default), key="model",
                             format_func=catalogue.display_name,
                             help="Fine-tuned runs appear by their name. Download or convert others on the Models page.",
                             on_change=lambda: [state.pop(k, None) for k in tutor.SAMPLING_KEYS])  # the new family's
        grade = st.selectbox("Student's grade", [0] + list(range(1, 13)), key="grade",
                             format_func=lambda g: f"Grade {g}" if g else "Not set",
                             help="The tutor is asked to explain in words a student of this grade can read.")
        grounded = st.toggle("Answer from the lessons", value=True, key="lessons", help="The lesson nearest the "
                             "question goes into the tutor's context; an answer it is unsure of is not guessed.")
        tuned = chat.sampling_defaults(capability.model_family(model))  # measured per family (bench/tutor_bench.py)
        with st.expander("Expert settings"):
            system = st.text_area("System prompt", DEFAULT_SYSTEM_PROMPT, key="system", height=90)
            temperature = st.slider("Temperature", 0.0, 1.5, tuned.temperature, 0.05, key="temperature",
                                    help="0 = always the most likely token")
            top_p = st.slider("Top-p", 0.05, 1.0, tuned.top_p, 0.05, key="top_p")
            penalty = st.slider("Repetition penalty", 1.0, 1.5, tuned.repetition_penalty, 0.05,
                                key="penalty", help="Above 1 discourages the model from repeating itself")
            max_new = st.number_input("Max new tokens", 8, 1024, tuned.max_new_tokens, step=32, key="max_new")
        if actor.trusted:  # where replies come from: this machine, or a school's OpenAI-compatible server
            with st.expander("Tutor server"):
                st.text_input("Endpoint (OpenAI-compatible)", key="endpoint", placeholder="http://host:8000/v1")
                st.text_input("Its model name", key="endpoint_model")
        if st.button("Clear conversation", icon=":material/delete_sweep:", key="clear"):
            state.history = []
            state.pop("partial", None)
    return SimpleNamespace(model=model, grade=grade, grounded=grounded, system=system, temperature=temperature,
                           top_p=top_p, penalty=penalty, max_new=max_new)


def conversation(history: list[dict]) -> None:
    for m in history:
        with st.chat_message(m["role"]):
            st.markdown(m["content"])
            if m.get("stopped"):
                st.caption("Stopped before the end.")
            for caption in filter(None, (m.get("lesson"), m.get("note"))):
                st.caption(caption)


# ---- the class link ----------------------------------------------------------------------------------
def class_link(actor, model_name: str, setup: tutor.Setup, max_new: int, grade: int, grounded: bool,
               endpoint) -> None:
    """Share the chat with a class: start/stop the separate Gradio app (classroom.py) and show its address."""
    st.divider()
    st.subheader(":material/share: Share with a class")
    space_link = classroom_launcher.space_class_link()
    if space_link:
        st.info("This app runs on a Hugging Face Space, where Gradio's share links are disabled: the class link "
                "is this Space's Tutor page.")
        st.code(space_link, language=None)
        return
    st.caption("A separate app that serves **only** this chat (no training, data or files): the class's answers are "
               "generated together, and a student who must wait is told their place in line.")
    cols = st.columns([2, 2, 1])
    password = cols[0].text_input("Class password (optional)", type="password", key="class_password")
    share = cols[1].toggle("Public link (gradio.live)", value=True, key="share")
    lan = cols[1].toggle("Serve on the local network", value=False, key="lan",
                         help="Students on the same network (school Wi-Fi) can open it even without internet.")
    if cols[2].button("Start class link", type="primary", icon=":material/play_arrow:", key="start_class"):
        try:
            classroom_launcher.start(model_name, share=share, password=password or None,
                            host="0.0.0.0" if lan else "127.0.0.1", system_prompt=setup.base_system or None,
                            max_new_tokens=int(max_new), grade=grade or None, actor=actor, lessons=grounded,
                            endpoint=endpoint)
        except StudioError as e:
            admin_ui.error(e, actor)
    link = classroom_launcher.status()
    starting = link is not None and link.state == "starting"
    st.fragment(run_every=1.0 if starting else None)(_class_link_status)(actor, starting)


def _class_link_status(actor, was_starting: bool) -> None:
    current = classroom_launcher.status()
    if current is None:
        st.caption("No class link running.")
        return
    if current.state == "starting":
        st.info(f"Starting the class link with `{current.model}`…", icon=":material/hourglass_top:")
        return
    if was_starting:
        st.rerun()  # stop polling: the whole page redraws once with the addresses
    if current.state == "failed":
        st.error("The class link stopped. Its log:")
        st.code(access.shown(current.log_tail, actor) or "(empty)", language=None)
        return
    if current.share_url:
        st.success("Class link (public, lasts up to a week):", icon=":material/link:")
        st.code(current.share_url, language=None)
    else:
        if current.share_error:
            st.warning(current.share_error, icon=":material/cloud_off:")
        st.markdown("Local address:")
        st.code(current.local_url, language=None)
    st.caption(f"Model `{current.model}`" + (" · password protected" if current.password else " · no password"))
    if st.button("Stop class link", icon=":material/stop:", key="stop_class"):
        try:
            classroom_launcher.stop(actor)
        except StudioError as e:
            admin_ui.error(e, actor)
        st.rerun()
