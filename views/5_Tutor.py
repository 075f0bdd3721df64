"""Tutor page: chat with any model of the catalogue (default: the model measured best on the same
questions, else the newest run: core.evaluation.recommend), the answer streamed token by token through the
model's own chat template; share the chat with a class through a link (a separate Gradio app that serves
only the chat: classroom.py). Decisions live in core.evaluation.tutor, core.serving and classroom; the
widgets in tutor_ui.py; this file lays them out."""

from __future__ import annotations

import threading
import uuid

import streamlit as st

import admin_ui
import tutor_ui
from core.errors import StudioError
from core.evaluation import capability, tutor, tutor_calibration
from core.models import catalogue, locations, obtain
from core.serving import chat, endpoint

st.set_page_config(page_title="Tutor · ScienceQA Tutor Studio", page_icon=":material/school:", layout="wide")
actor = admin_ui.actor()

state = st.session_state
state.setdefault("sid", uuid.uuid4().hex)
state.setdefault("history", [])
if state.pop("streaming", None) is not None:  # the last reply was interrupted (Stop, or another click)
    partial = state.pop("partial", "")
    state.history.append(tutor.stopped_entry(partial))

ui = tutor_ui.sidebar(actor, catalogue.offered_models(actor))
model_name = ui.model

st.title(":material/school: Tutor")
try:
    setup = tutor.setup(ui.system, ui.grade, ui.temperature, ui.top_p, ui.max_new, ui.penalty)
    if locations.local_model_folder(model_name) is None:  # first use: imported, created or downloaded once
        with st.status(f"Preparing {model_name} (first use only)…", expanded=True) as prep:
            path = obtain.resolve_model(model_name, progress=st.write, actor=actor)
            prep.update(label=f"{model_name} is ready", state="complete", expanded=False)
    else:
        path = obtain.resolve_model(model_name, actor=actor)
    loaded = tutor_ui.load(str(path))
    ep = endpoint.endpoint_for_page(state.get("endpoint"), state.get("endpoint_model"), actor)
except (StudioError, ValueError) as e:
    admin_ui.error(e, actor)
    st.stop()
st.info((f"Replies come from `{ep.model}` on {ep.host} (this model answers when it is down). "
         if ep else "") + capability.capability_note(model_name), icon=":material/psychology:")
if ui.grade:
    st.caption(f"Tutoring at grade {ui.grade}: the model is told “{setup.system_prompt}”")
st.caption(f"`{model_name}` · context window {loaded.context_length:,} tokens · on {loaded.device} · "
           "replies end at the model's end-of-turn token")

pending, fmt = None, capability.default_format(model_name)
tutor_calibration.warm(loaded, fmt, ui.grounded)  # the confidence threshold, measured once per model in the background
if not state.history:
    st.markdown("**Try a question**, typed as a student would:")
    for i, (label, text) in enumerate(tutor_ui.examples(fmt)):
        if st.button(label.splitlines()[0], key=f"example_{i}", icon=":material/quiz:"):
            pending = text

tutor_ui.conversation(state.history)

prompt = st.chat_input("Ask a science question", key="ask") or pending
try:  # bad input is one line; the conversation and the class link below stay
    question = chat.clean_input(prompt) if prompt else None
    if question:
        tutor_ui.limiter().check(state.sid)
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
            waiting.info(chat.wait_text(ahead), icon=":material/hourglass_top:") if ahead else waiting.empty()

        def deltas(turn):
            state.streaming, state.partial = True, ""
            for d in turn.deltas:
                state.partial += d
                yield d

        try:
            with st.spinner("Finding the lesson…"):  # the first multiple-choice question calibrates once
                turn = tutor.start_turn(loaded, ep, setup.system_prompt, state.history[:-1], question,
                                        setup.settings, fmt=fmt, grounded=ui.grounded, actor=actor,
                                        on_wait=on_wait, stop=stop, progress=waiting.info)
            answer = st.write_stream(deltas(turn))
        except StudioError as e:
            state.history.pop()
            st.error(str(e))
            answer = None
        state.pop("streaming", None)
        state.pop("partial", None)
    if answer is not None:
        text = answer if isinstance(answer, str) else "".join(map(str, answer))
        state.history.append(tutor.reply_entry(text, turn))
        st.rerun()

tutor_ui.class_link(actor, model_name, setup, ui.max_new, ui.grade, ui.grounded, ep)
