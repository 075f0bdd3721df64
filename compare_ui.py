"""Streamlit part of the Compare page: "One question, both models".

UI only: a question from the compared data or typed in (core.evaluation.side_by_side.typed_question), each
model's probability of each choice (side_by_side.probabilities, under the one device lease) as a grouped
bar chart (core.evaluation.figures.choice_chart), and "Ask both": both replies streamed side by side
(side_by_side.replies, the shared batched generator). Asking changes nothing, so visitors may ask, at the
chat's rate (core.serving.chat.RateLimiter, the Tutor's limits, per browser session).
"""

from __future__ import annotations

import uuid

import streamlit as st

import admin_ui
from core import access
from core.data.records import LETTERS, Question
from core.errors import StudioError
from core.evaluation import figures
from core.evaluation import side_by_side as sbs
from core.evaluation.capability import default_format
from core.models.catalogue import display_name
from core.models.obtain import resolve_model
from core.serving.chat import RateLimiter, get_model


@st.cache_resource(max_entries=2, show_spinner="Loading model…")
def load(path: str):
    return get_model(path)  # one copy per process, shared by every session (as the Tutor's)


@st.cache_resource
def limiter() -> RateLimiter:
    return RateLimiter(max_requests=10, window=60.0)  # the Tutor's chat limits


@st.cache_data(max_entries=64, show_spinner="Scoring the choices…")
def probabilities(folders: tuple[str, ...], key: tuple, formats: tuple[str, ...], _q: Question) -> list[list[float]]:
    """Cached per models, question (its `key`: every field the prompt uses) and formats."""
    return sbs.probabilities([load(f) for f in folders], _q, list(formats))


def choices_md(q: Question) -> str:
    """The choices one a line, by letter (the chart's bars are named by letter), the right one ticked."""
    return "  \n".join(f"{':green[**✓**]' if i == q.answer else '◦'} ({LETTERS[i]}) {c}" for i, c in enumerate(q.choices))


def pick_question(questions: list[Question]) -> Question:
    """The question: one of the compared ones, or typed in (with its choices and the right one)."""
    mode = st.radio("Question", ["from the data", "typed in"], horizontal=True, key="q_mode")
    if mode == "from the data":
        by_pid = {q.pid: q for q in questions}
        if st.session_state.get("q_pid") not in by_pid:
            st.session_state.pop("q_pid", None)  # the data changed under the widget
        pid = st.selectbox("Question id", list(by_pid), key="q_pid",
                           format_func=lambda p: f"{p}: {by_pid[p].question[:80]}")
        return by_pid[pid]
    text = st.text_input("Question", "Which of these is a mammal?", key="q_text")
    choices = st.text_area(f"Choices (one a line, 2 to {sbs.MAX_TYPED_CHOICES})", "whale\nshark\ntrout", key="q_choices")
    lines = [c.strip() for c in choices.splitlines() if c.strip()]
    answer = st.selectbox("Right choice", range(len(lines)), format_func=lambda i: lines[i], key="q_answer")
    return sbs.typed_question(text, choices, answer or 0)


def side_by_side(questions: list[Question], models: tuple[str, str], actor: access.Actor) -> None:
    """The whole section, under the page's results."""
    with st.container(key="ask_section"):
        section(questions, models, actor)


def section(questions: list[Question], models: tuple[str, str], actor: access.Actor) -> None:
    st.subheader(":material/forum: One question, both models")
    try:
        q = pick_question(questions)
        folders = tuple(str(resolve_model(m, actor=actor)) for m in models)
        formats = tuple(default_format(m) for m in models)
        probs = probabilities(folders, (q.question, tuple(q.choices), q.answer, q.hint, q.caption), formats, q)
    except StudioError as e:
        admin_ui.error(e, actor)
        return
    names = [display_name(m) for m in models]
    st.markdown(f"**{q.question}**  \n" + choices_md(q))
    st.plotly_chart(figures.choice_chart(q, list(zip(names, probs))), key="ask_chart", config={"displayModeBar": False})
    st.caption("Each model is asked in the prompt format it was trained in: " +
               " · ".join(f"{n}: {f}" for n, f in zip(names, formats)))
    left, right = st.columns([1, 3])
    temperature = left.slider("Temperature (0 = greedy)", 0.0, 1.5, 0.0, 0.1, key="ask_temperature")
    seed = left.number_input("Seed", 0, 2**31 - 1, 0, key="ask_seed", help="The same for both models.")
    asked = left.button("Ask both", icon=":material/forum:", key="ask_both", type="primary")
    cols = right.columns(2)
    for col, name in zip(cols, names):
        col.markdown(f"**{name}**")
    if not asked:
        return
    try:
        limiter().check(st.session_state.setdefault("sid", uuid.uuid4().hex))
        streams = sbs.replies([load(f) for f in folders], q, formats, temperature, int(seed))
        for i, (col, stream) in enumerate(zip(cols, streams)):  # one model decodes at a time
            with col, st.container(key=f"ask_reply_{i}"):
                st.write_stream(stream)
    except StudioError as e:
        admin_ui.error(e, actor)


def flip_view(plan, results: tuple, names: tuple[str, str], pid: str) -> None:
    """A flipped question picked in the Flips table: what each model answered and its stored probabilities
    (core.evaluation.comparison.question_view: no model loaded); it also opens in the section below."""
    from core.evaluation import comparison as cmpn

    q, said = cmpn.question_view(plan, results, pid)
    answered = " · ".join(f"{n} answered {s}" for n, (_, s) in zip(names, said))
    st.markdown(f"**{q.question}**  \n{choices_md(q)}  \n{answered}")
    st.plotly_chart(figures.choice_chart(q, [(n, p) for n, (p, _) in zip(names, said)]), key="choice_chart")
    if st.session_state.get("flip_seen") != pid:  # the section's widgets are drawn further down the page
        st.session_state.update(flip_seen=pid, q_pid=pid, q_mode="from the data")
