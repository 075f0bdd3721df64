"""Streamlit drawing for the Data page (views/1_Data.py): the cached loads, the filter widgets, the headline
counts, the overview charts, a question, and the conversation (and tokens) it becomes.

UI only: what a source, a filter, a chart's counts or a conversation is, is core.data's (subsets,
selection, preview, prompts); these functions draw what those return, under the widget keys the page's
tests use.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go
import streamlit as st

import admin_ui
from core import access
from core.data import filtering, preview, prompts, selection, sources
from core.data.records import Question
from core.errors import StudioError
from core.home import area
from core.models import catalogue

SPLIT_COLORS = {"train": "#4C78A8", "val": "#F58518", "test": "#54A24B", "": "#9D9D9D"}
OTHER_COLOR = "#9D9D9D"
LOSS_COLORS = {True: "#c7f0d2", False: "#eef0f4"}  # tokens that carry the training loss, and the rest


@st.cache_resource(max_entries=4, show_spinner="Loading questions…")
def load(spec: str, meta: str, stamp: float):
    """(questions, their frame) of a source; `stamp` (core.data.sources.source_stamp) renews it on change."""
    questions = sources.load_source(spec, meta=meta or None)
    return questions, filtering.build_frame(questions)


@st.cache_data(ttl=15, show_spinner=False)
def tokenizer_folders(models_dir: str, stamp: float) -> dict:
    return catalogue.tokenizer_folders()


@st.cache_resource(max_entries=2, show_spinner="Loading tokenizer…")
def tokenizer(path: str):
    from core.models.loading import load_tokenizer  # transformers: loaded only when a token view is drawn

    return load_tokenizer(path)


def filters(frame) -> filtering.Filters:
    """The sidebar's filter widgets over the values present in `frame`; returns the filters they set."""
    def values(column: str) -> list:
        return selection.filter_values(frame, column)

    st.header("Filters")
    splits = st.multiselect("Split", values("split"), key="f_split")
    subjects = st.multiselect("Subject", values("subject"), key="f_subject")
    grades = selection.grade_values(frame)
    grade_range = (st.slider("Grade", min(grades), max(grades), (min(grades), max(grades)), key="f_grade")
                   if len(grades) > 1 else (None, None))
    topics = st.multiselect("Topic", values("topic"), key="f_topic")
    categories = st.multiselect("Category", values("category"), key="f_category")
    skills = st.multiselect("Skill", values("skill"), key="f_skill")
    contexts = st.multiselect("Context", list(filtering.CONTEXTS), key="f_context",
                              help="TXT: has a hint; IMG: has an image; NO: neither (TXT and IMG overlap)")
    n_choices = st.multiselect("Number of choices", values("n_choices"), key="f_choices")
    lecture = st.selectbox("Lecture", ["any", "with", "without"], key="f_lecture")
    solution = st.selectbox("Solution", ["any", "with", "without"], key="f_solution")
    search = st.text_input("Search question, hint and choices", key="f_search")
    text_only = st.radio("Image questions", ["caption", "drop"], key="f_images", horizontal=True,
                         format_func=lambda v: {"caption": "keep (caption as context)", "drop": "drop"}[v])
    return filtering.Filters.from_page(grades, grade_range, lecture, solution, splits=splits, subjects=subjects,
                                     topics=topics, categories=categories, skills=skills, contexts=contexts,
                                     n_choices=n_choices, search=search, text_only=text_only)


def headline(h: selection.Headline) -> None:
    """Five metrics in a row; the split counts one number a column (21,208 rows fit)."""
    cols = st.columns(5)
    cols[0].metric("Selected questions", f"{h.selected:,}", f"of {h.total:,}", delta_color="off", delta_arrow="off")
    cols[1].metric("With an image", f"{h.with_image:,}")
    cols[2].metric("With a hint (TXT)", f"{h.with_hint:,}")
    cols[3].metric("Subjects", h.subjects)
    train, val, test = (h.per_split[s] for s in ("train", "val", "test"))
    cols[4].metric("Train split", f"{train:,}", f"val {val:,} · test {test:,}", delta_color="off", delta_arrow="off")


def bar(chart: selection.Chart) -> None:
    """A chart's counts as bars stacked by split."""
    st.markdown(f"**{chart.title}**")
    counts, horizontal = chart.counts, chart.horizontal
    bars = [{"type": "bar", "name": s or "(none)", "marker": {"color": SPLIT_COLORS.get(s, OTHER_COLOR)},
             "orientation": "h" if horizontal else "v",
             "x": counts[s].tolist() if horizontal else list(counts.index),
             "y": list(counts.index) if horizontal else counts[s].tolist()} for s in counts.columns]
    layout = {"barmode": "stack", "height": 270, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "bargap": 0.15,
              "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                         "traceorder": "normal"},
              "yaxis" if horizontal else "xaxis": {"type": "category"}}
    # a plain spec without plotly's per-property validation: 1 ms instead of ~100 ms per chart on each rerun
    fig = go.Figure({"data": bars, "layout": layout}, _validate=False)
    st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})  # no toolbar over the legend


def charts(charts: list[selection.Chart]) -> None:
    """The overview: three charts in a row, then two (the topics chart twice as wide)."""
    for row, widths in ((charts[:3], 3), (charts[3:], [1, 2])):
        for col, chart in zip(st.columns(widths), row):
            with col:
                bar(chart)


def question(q: Question) -> None:
    """A question as a student sees it, with its answer marked, then its lecture and solution folded."""
    st.subheader(f"Question {q.pid}")
    st.caption(" · ".join(x for x in [q.split, q.subject, q.grade, q.topic, q.skill] if x))
    if q.image is not None:
        st.image(q.image, width=360, caption=q.caption or None)
    elif q.has_image:
        st.caption(f":material/image: image not in this source; caption: {q.caption or '—'}")
    st.markdown("  \n".join(f"**{line}**" for line in q.question.splitlines() if line.strip()))
    if q.hint.strip():
        st.info(q.hint)
    for i, c in enumerate(q.choices):
        mark = ":green[:material/check_circle:]" if i == q.answer else ":gray[:material/radio_button_unchecked:]"
        st.markdown(f"{mark} **({chr(65 + i)})** {c}")
    for title, text in (("Lecture", q.lecture), ("Solution", q.solution)):
        if text:
            with st.expander(title):
                st.markdown(text)


def conversation(q: Question) -> list[dict[str, str]]:
    """The prompt-format picker and the conversation the row becomes in it (a teaching format's open
    conversations one click away); returns the messages shown."""
    st.subheader("The conversation it becomes")
    formats = list(prompts.FORMATS)
    fmt = st.selectbox("Prompt format", formats, index=formats.index(prompts.DEFAULT_FORMAT),
                       format_func=lambda f: prompts.FORMATS[f].label, key="fmt")
    convs = dict(preview.row_conversations(q, fmt))
    names = list(convs)
    which = names[0]
    if len(names) > 1:
        st.caption(f"In this format the row becomes **{len(names)} conversations**: the multiple-choice "
                   "one and open questions answered in prose (over a whole source, each skill's lecture "
                   f"is taught once and each idea gets at most {prompts.OPEN_PER_IDEA} open questions).")
        which = st.segmented_control("Conversation", names, default=names[0], label_visibility="collapsed",
                                     key=f"conv_pick:{q.pid}:{fmt}") or names[0]
    for m in convs[which]:
        st.caption(m["role"])
        st.code(m["content"], language=None, wrap_lines=True)
    return convs[which]


def tokens(messages: list[dict[str, str]], actor: access.Actor) -> None:
    """The conversation's tokens under a chosen tokenizer, those that carry the training loss highlighted."""
    models = area("models")
    folders = tokenizer_folders(str(models), models.stat().st_mtime)
    if not folders:
        st.caption("Token view: no tokenizer yet. Create the tiny model on the Models page to count tokens.")
        return
    name = st.selectbox("Tokenizer", list(folders), key="tokenizer")
    try:
        view = preview.tokenize_conversation(tokenizer(str(folders[name])), messages)
    except StudioError as e:
        admin_ui.error(e, actor)
        return
    st.caption(f"**{view.total}** tokens; **{view.loss_tokens}** carry the training loss (highlighted).")
    spans = "".join(f"<span style='background:{LOSS_COLORS[loss]};border-radius:3px;margin-right:1px;"
                    f"padding:0 1px;white-space:pre-wrap'>{html.escape(text)}</span>" for text, loss in view.pieces)
    st.html(f"<div style='font-family:monospace;font-size:0.85rem;line-height:1.9'>{spans}</div>")
