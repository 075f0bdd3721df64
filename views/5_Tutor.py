"""Tutor page: chat with any model of the catalogue (default: the newest run fine-tuned from a pretrained
model, else the pretrained SmolLM2 preset; core.models.defaults), the answer streamed token by token through the model's own chat template; share the chat with a class
through a link (a separate Gradio app that serves only the chat: classroom.py). Logic lives in
core.serving.chat, core.access and classroom; this file lays out widgets."""

from __future__ import annotations

import threading
import uuid

import streamlit as st

import admin_ui
import classroom
from core import access
from core.data.prompts import DEFAULT_SYSTEM_PROMPT, with_grade
from core.errors import StudioError
from core.evaluation.capability import capability_note, default_format, model_family
from core.evaluation.grounding import answer as tutor_answer
from core.evaluation.grounding import warm
from core.evaluation.recommend import recommended_model
from core.models.catalogue import display_name, local_model_folder, offered_models
from core.models.obtain import resolve_model
from core.serving.chat import (
    MAX_SYSTEM_CHARS,
    ChatSettings,
    RateLimiter,
    clean_input,
    example_questions,
    get_model,
    reply_note,
    sampling_defaults,
    wait_text,
)
from core.serving.endpoint import endpoint_for_page, endpoint_turn

st.set_page_config(page_title="Tutor · ScienceQA Tutor Studio", page_icon=":material/school:", layout="wide")
actor = admin_ui.actor()


@st.cache_resource(max_entries=2, show_spinner="Loading model…")
def load(path: str):
    return get_model(path)  # one copy per process, shared by every session


@st.cache_resource
def limiter() -> RateLimiter:
    return RateLimiter(max_requests=10, window=60.0)


@st.cache_data(show_spinner=False)
def examples(fmt: str) -> list[tuple[str, str]]:
    return example_questions(3, fmt)


SAMPLING_KEYS = ("temperature", "top_p", "penalty", "max_new")


state = st.session_state
state.setdefault("sid", uuid.uuid4().hex)
state.setdefault("history", [])
if state.pop("streaming", None) is not None:  # the last reply was interrupted (Stop, or another click)
    partial = state.pop("partial", "")
    state.history.append({"role": "assistant", "content": (partial + " …").strip(), "stopped": True})

names = offered_models(actor)
with st.sidebar:
    st.header("Tutor")
    default = recommended_model(names).model  # the best measured on the same questions, as Home says
    options = names + ([default] if default not in names else [])
    model_name = st.selectbox("Model", options, index=options.index(default), key="model", format_func=display_name,
                              help="Fine-tuned runs appear by their name. Download or convert others on the Models page.",
                              on_change=lambda: [state.pop(k, None) for k in SAMPLING_KEYS])  # the new family's
    grade = st.selectbox("Student's grade", [0] + list(range(1, 13)), key="grade",
                         format_func=lambda g: f"Grade {g}" if g else "Not set",
                         help="The tutor is asked to explain in words a student of this grade can read.")
    grounded = st.toggle("Answer from the lessons", value=True, key="lessons", help="The lesson nearest the "
                         "question goes into the tutor's context; an answer it is unsure of is not guessed.")
    family = model_family(model_name)
    tuned = sampling_defaults(family)  # measured per model family (bench/tutor_bench.py --sweep)
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

st.title(":material/school: Tutor")
try:
    settings = ChatSettings(temperature=float(temperature), top_p=float(top_p), max_new_tokens=int(max_new),
                            repetition_penalty=float(penalty))
    base_system = clean_input(system, MAX_SYSTEM_CHARS, "The system prompt") if system.strip() else ""
    system_prompt = with_grade(base_system, grade) or ""
    if local_model_folder(model_name) is None:  # first use: imported, created or downloaded once (a minute)
        with st.status(f"Preparing {model_name} (first use only)…", expanded=True) as prep:
            path = resolve_model(model_name, progress=st.write, actor=actor)
            prep.update(label=f"{model_name} is ready", state="complete", expanded=False)
    else:
        path = resolve_model(model_name, actor=actor)
    loaded = load(str(path))
    endpoint = endpoint_for_page(state.get("endpoint"), state.get("endpoint_model"), actor)
except (StudioError, ValueError) as e:
    admin_ui.error(e, actor)
    st.stop()
st.info((f"Replies come from `{endpoint.model}` on {endpoint.host} (this model answers when it is down). "
         if endpoint else "") + capability_note(model_name), icon=":material/psychology:")
if grade:
    st.caption(f"Tutoring at grade {grade}: the model is told “{system_prompt}”")
st.caption(f"`{model_name}` · context window {loaded.context_length:,} tokens · on {loaded.device} · "
           "replies end at the model's end-of-turn token")

pending, fmt = None, default_format(model_name)
warm(loaded, fmt, grounded)  # the confidence threshold, measured once per model in the background
if not state.history:
    st.markdown("**Try a question**, typed as a student would:")
    for i, (label, text) in enumerate(examples(fmt)):
        if st.button(label.splitlines()[0], key=f"example_{i}", icon=":material/quiz:"):
            pending = text

for m in state.history:
    with st.chat_message(m["role"]):
        st.markdown(m["content"])
        if m.get("stopped"):
            st.caption("Stopped before the end.")
        for caption in filter(None, (m.get("lesson"), m.get("note"))):
            st.caption(caption)

prompt = st.chat_input("Ask a science question", key="ask") or pending
try:  # bad input is one line; the conversation and the class link below stay
    question = clean_input(prompt) if prompt else None
    if question:
        limiter().check(state.sid)
except StudioError as e:
    st.error(str(e))
    question = None
if question:
    state.history.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        waiting = st.empty()
        st.button("Stop", icon=":material/stop_circle:", key="stop")  # a click reruns the page, ending the stream
        stop = threading.Event()

        def on_wait(ahead: int) -> None:
            waiting.info(wait_text(ahead), icon=":material/hourglass_top:") if ahead else waiting.empty()

        def deltas(turn):
            state.streaming, state.partial = True, ""
            for d in turn.deltas:
                state.partial += d
                yield d

        try:
            with st.spinner("Finding the lesson…"):  # the first multiple-choice question calibrates once
                turn = endpoint_turn(loaded, endpoint, system_prompt, state.history[:-1], question, settings,
                                     on_wait=on_wait, stop=stop) if endpoint else \
                    tutor_answer(loaded, system_prompt, state.history[:-1], question, settings, fmt=fmt,
                                 grounded=grounded, actor=actor, on_wait=on_wait, stop=stop, progress=waiting.info)
            answer = st.write_stream(deltas(turn))
        except StudioError as e:
            state.history.pop()
            st.error(str(e))
            answer = None
        state.pop("streaming", None)
        state.pop("partial", None)
    if answer is not None:
        text = answer if isinstance(answer, str) else "".join(map(str, answer))
        state.history.append({"role": "assistant", "content": text or "(no answer: the model ended its turn at once)",
                              "lesson": turn.lesson_note(), "note": reply_note(turn.stats)})
        st.rerun()

# ---- the class link ----------------------------------------------------------------------------------
st.divider()
st.subheader(":material/share: Share with a class")
space_link = classroom.space_class_link()
if space_link:
    st.info("This app runs on a Hugging Face Space, where Gradio's share links are disabled: the class link "
            "is this Space's Tutor page.")
    st.code(space_link, language=None)
    st.stop()
st.caption("A separate app that serves **only** this chat (no training, data or files), with one answer "
           "generated at a time and each student told their place in line.")
cols = st.columns([2, 2, 1])
class_password = cols[0].text_input("Class password (optional)", type="password", key="class_password")
share = cols[1].toggle("Public link (gradio.live)", value=True, key="share")
lan = cols[1].toggle("Serve on the local network", value=False, key="lan",
                     help="Students on the same network (school Wi-Fi) can open it even without internet.")
if cols[2].button("Start class link", type="primary", icon=":material/play_arrow:", key="start_class"):
    try:
        classroom.start(model_name, share=share, password=class_password or None,
                        host="0.0.0.0" if lan else "127.0.0.1",
                        system_prompt=base_system or None, max_new_tokens=int(max_new), grade=grade or None,
                        actor=actor, lessons=grounded, endpoint=endpoint)
    except StudioError as e:
        admin_ui.error(e, actor)

link = classroom.status()


@st.fragment(run_every=1.0 if link is not None and link.state == "starting" else None)
def class_link_status() -> None:
    current = classroom.status()
    if current is None:
        st.caption("No class link running.")
        return
    if current.state == "starting":
        st.info(f"Starting the class link with `{current.model}`…", icon=":material/hourglass_top:")
        return
    if link is not None and link.state == "starting":
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
            classroom.stop(actor)
        except StudioError as e:
            admin_ui.error(e, actor)
        st.rerun()


class_link_status()
