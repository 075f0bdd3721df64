"""Data page: pick a ScienceQA source, filter it, look at a question and the exact conversation (and
tokens) it becomes for the model, and save subsets that training and evaluation accept as sources.
Logic lives in core.data.sources, core.data.subsets and core.data.preview; this file only lays out widgets."""

from __future__ import annotations

import html

import plotly.graph_objects as go
import streamlit as st

import admin_ui
from core import access
from core.data import subsets
from core.data.prompts import DEFAULT_FORMAT, FORMATS, OPEN_PER_IDEA, training_conversations
from core.data.sources import check_source, load_source, source_stamp
from core.data.subsets import CONTEXTS, Filters, build_frame, context_counts, filter_frame, grade_labels
from core.errors import StudioError
from core.home import area
from core.hub import OFFLINE_HELP, hub_reachable
from core.models.catalogue import tokenizer_folders as find_tokenizers

st.set_page_config(page_title="Data · ScienceQA Tutor Studio", page_icon=":material/dataset:", layout="wide")
actor = admin_ui.actor()
SPLIT_COLORS = {"train": "#4C78A8", "val": "#F58518", "test": "#54A24B", "": "#9D9D9D"}
LABELS = {"sample": "Embedded sample (offline)", "hub": "Hugging Face Hub: derek-thomas/ScienceQA",
          "local": "Local file or folder…"}


@st.cache_resource(max_entries=4, show_spinner="Loading questions…")
def load(spec: str, meta: str, stamp: float):
    questions = load_source(spec, meta=meta or None)
    return questions, build_frame(questions)


@st.cache_data(ttl=15, show_spinner=False)
def tokenizer_folders(models_dir: str, stamp: float) -> dict:
    return find_tokenizers()


@st.cache_resource(max_entries=2, show_spinner="Loading tokenizer…")
def tokenizer(path: str):
    from core.models.loading import load_tokenizer

    return load_tokenizer(path)


def bar(frame, x: str, title: str, order: list[str] | None = None, horizontal: bool = False,
        counts=None) -> None:
    """Counts of column `x` (or the given counts), stacked by split (the counts are plotted, never the rows)."""
    st.markdown(f"**{title}**")
    if counts is None:
        counts = frame.groupby([x, "split"]).size().unstack(fill_value=0)  # (categories, splits)
    cats = order or list(counts.sum(axis=1).sort_values(ascending=horizontal).index)
    counts = counts.reindex([c for c in cats if c in counts.index])
    splits = sorted(counts.columns, key=lambda s: list(SPLIT_COLORS).index(s) if s in SPLIT_COLORS else 9)
    bars = [{"type": "bar", "name": s or "(none)", "marker": {"color": SPLIT_COLORS.get(s, "#9D9D9D")},
             "orientation": "h" if horizontal else "v",
             "x": counts[s].tolist() if horizontal else list(counts.index),
             "y": list(counts.index) if horizontal else counts[s].tolist()} for s in splits]
    axis = {"type": "category"}
    layout = {"barmode": "stack", "height": 270, "margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "bargap": 0.15,
              "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                         "traceorder": "normal"},
              "yaxis" if horizontal else "xaxis": axis}
    # a plain spec without plotly's per-property validation: 1 ms instead of ~100 ms per chart on each rerun
    fig = go.Figure({"data": bars, "layout": layout}, _validate=False)
    st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})  # no toolbar over the legend


st.title(":material/dataset: Data")
st.caption("Browse, filter and subset ScienceQA; see the exact conversation (and tokens) each question becomes.")

# --- source ---------------------------------------------------------------------------------------
saved = subsets.list_subsets()
options = ["sample", "hub"] + (["local"] if actor.trusted else []) + [f"subset:{s.name}" for s in saved]
with st.sidebar:
    st.header("Source")
    choice = st.selectbox("Questions from", options, key="source",
                          format_func=lambda o: LABELS.get(o, f"Saved subset: {o.removeprefix('subset:')}"))
    spec, meta = choice, ""
    if choice == "local":
        spec = st.text_input("File or folder", key="path", placeholder="/data/ScienceQA or rows.jsonl").strip()
    if choice in ("local", "hub") and actor.trusted:
        meta = st.text_input("Folder with pid_splits.json / captions.json (optional)", key="meta",
                             help="The official split and caption files: they give Hub/parquet rows their "
                                  "ScienceQA pids and image captions.").strip()
if not hub_reachable():
    st.caption(f":material/cloud_off: {OFFLINE_HELP}")
if not spec:
    st.info("Enter a file (.jsonl/.json/.csv/.parquet) or a folder (Hugging Face parquet layout, original "
            "problems.json release, or a saved subset) in the sidebar.")
    st.stop()
try:
    check_source(spec, actor)  # before the cache: a visitor never gets an admin's server path from it
    if meta:
        access.require(actor, "Reading a file on the server")
    questions, frame = load(spec, meta, source_stamp(spec, meta or None))
except StudioError as e:
    admin_ui.error(e, actor)
    st.stop()

# --- filters --------------------------------------------------------------------------------------
def values(col: str) -> list:
    return sorted(v for v in frame[col].dropna().unique() if v != "")


with st.sidebar:
    st.header("Filters")
    splits = st.multiselect("Split", values("split"), key="f_split")
    subjects = st.multiselect("Subject", values("subject"), key="f_subject")
    grades = [int(g) for g in values("grade_num")]
    grade_range = (st.slider("Grade", min(grades), max(grades), (min(grades), max(grades)), key="f_grade")
                   if len(grades) > 1 else (None, None))
    topics = st.multiselect("Topic", values("topic"), key="f_topic")
    categories = st.multiselect("Category", values("category"), key="f_category")
    skills = st.multiselect("Skill", values("skill"), key="f_skill")
    contexts = st.multiselect("Context", list(CONTEXTS), key="f_context",
                              help="TXT: has a hint; IMG: has an image; NO: neither (TXT and IMG overlap)")
    n_choices = st.multiselect("Number of choices", values("n_choices"), key="f_choices")
    lecture = st.selectbox("Lecture", ["any", "with", "without"], key="f_lecture")
    solution = st.selectbox("Solution", ["any", "with", "without"], key="f_solution")
    search = st.text_input("Search question, hint and choices", key="f_search")
    text_only = st.radio("Image questions", ["caption", "drop"], key="f_images", horizontal=True,
                         format_func=lambda v: {"caption": "keep (caption as context)", "drop": "drop"}[v])

filters = Filters.from_page(grades, grade_range, lecture, solution, splits=splits, subjects=subjects, topics=topics,
                           categories=categories, skills=skills, contexts=contexts, n_choices=n_choices,
                           search=search, text_only=text_only)
sel = filter_frame(frame, filters)

cols = st.columns(5)
cols[0].metric("Selected questions", f"{len(sel):,}", f"of {len(frame):,}", delta_color="off", delta_arrow="off")
cols[1].metric("With an image", f"{int(sel['has_image'].sum()):,}")
cols[2].metric("With a hint (TXT)", f"{int(sel['context'].str.contains('TXT').sum()):,}")
cols[3].metric("Subjects", sel["subject"].replace("", None).nunique())
per_split = sel["split"].value_counts()
train, val, test = (per_split.get(s, 0) for s in ("train", "val", "test"))  # one number a column: 21,208 rows fit
cols[4].metric("Train split", f"{train:,}", f"val {val:,} · test {test:,}", delta_color="off", delta_arrow="off")

overview, browse, build = st.tabs([":material/bar_chart: Overview", ":material/search: Browse a question",
                                  ":material/save: Subsets"])

# --- overview -------------------------------------------------------------------------------------
with overview:
    if sel.empty:
        st.warning("No questions match these filters.")
    else:
        c1, c2, c3 = st.columns(3)
        with c1:
            subject = sel["subject"].replace("", "(unknown)")
            bar(sel.assign(subject=subject), "subject", "By subject", list(subject.value_counts().index))
        with c2:
            grade = grade_labels(sel)
            bar(sel.assign(grade=grade), "grade", "By grade", sorted(grade.unique(), key=lambda g: (len(g), g)))
        with c3:
            bar(sel, "group", "By context group (TXT and IMG overlap)", list(CONTEXTS), counts=context_counts(sel))
        c1, c2 = st.columns([1, 2])
        with c1:
            bar(sel.assign(choices=sel["n_choices"].astype(str)), "choices", "By number of choices",
                sorted(sel["n_choices"].astype(str).unique()))
        with c2:
            topic = sel["topic"].replace("", "(unknown)")
            keep = topic.value_counts().index[:12]
            bar(sel.assign(topic=topic)[topic.isin(keep)], "topic", "Top topics", horizontal=True)

# --- browse ---------------------------------------------------------------------------------------
with browse:
    st.caption("Tick a row to see that question and the conversation it becomes.")
    table = sel[["pid", "split", "subject", "grade", "topic", "context", "n_choices", "question"]]
    event = st.dataframe(table, hide_index=True, height=260, on_select="rerun", selection_mode="single-row",
                         key="table", column_config={"question": st.column_config.TextColumn(width="large"),
                                                "n_choices": st.column_config.NumberColumn("choices")})
    if not sel.empty:
        picked = event.selection.rows[0] if event.selection.rows else 0
        q = questions[sel.index[picked]]
        detail, convo = st.columns(2, gap="large")
        with detail:
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
            if q.lecture:
                with st.expander("Lecture"):
                    st.markdown(q.lecture)
            if q.solution:
                with st.expander("Solution"):
                    st.markdown(q.solution)
        with convo:
            st.subheader("The conversation it becomes")
            fmt = st.selectbox("Prompt format", list(FORMATS), index=list(FORMATS).index(DEFAULT_FORMAT),
                               format_func=lambda f: FORMATS[f].label, key="fmt")
            convs = training_conversations([q], fmt)  # exactly what training builds from this row
            messages = convs[0]
            if len(convs) > 1:
                st.caption(f"In this format the row becomes **{len(convs)} conversations**: the multiple-choice "
                           "one and open questions answered in prose (over a whole source, each skill's lecture "
                           f"is taught once and each idea gets at most {OPEN_PER_IDEA} open questions).")
                names = ["Multiple choice"] + [f"Open {i}" for i in range(1, len(convs))]
                which = st.segmented_control("Conversation", names, default=names[0], label_visibility="collapsed",
                                             key=f"conv_pick:{q.pid}:{fmt}") or names[0]
                messages = convs[names.index(which)]
            for m in messages:
                st.caption(m["role"])
                st.code(m["content"], language=None, wrap_lines=True)
            from core.data.preview import tokenize_conversation

            models = area("models")
            folders = tokenizer_folders(str(models), models.stat().st_mtime)
            if not folders:
                st.caption("Token view: no tokenizer yet. Create the tiny model on the Models page to count tokens.")
            else:
                name = st.selectbox("Tokenizer", list(folders), key="tokenizer")
                try:
                    view = tokenize_conversation(tokenizer(str(folders[name])), messages)
                except StudioError as e:
                    admin_ui.error(e, actor)
                else:
                    st.caption(f"**{view.total}** tokens; **{view.loss_tokens}** carry the training loss (highlighted).")
                    spans = "".join(
                        f"<span style='background:{'#c7f0d2' if loss else '#eef0f4'};border-radius:3px;"
                        f"margin-right:1px;padding:0 1px;white-space:pre-wrap'>{html.escape(text)}</span>"
                        for text, loss in view.pieces)
                    st.html(f"<div style='font-family:monospace;font-size:0.85rem;line-height:1.9'>{spans}</div>")

# --- subsets --------------------------------------------------------------------------------------
with build:
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Save the selection as a subset")
        name = st.text_input("Name", key="subset_name", placeholder="e.g. nat-sci-grade3-5")
        n = st.number_input("Questions (0 = all selected)", min_value=0, value=0, step=50, key="subset_n")
        per = st.selectbox("Sample", ["", "subject", "grade"], key="subset_per",
                           format_func=lambda p: {"": "N in total (proportional)", "subject": "N per subject, in each split",
                                                  "grade": "N per grade, in each split"}[p])
        seed = st.number_input("Seed", min_value=0, value=0, step=1, key="subset_seed")
        st.caption("Sampling is drawn within each split, so train/val/test stay disjoint.")
        if st.button("Save subset", type="primary", key="subset_save", **admin_ui.gate(actor, "Saving a subset")):
            try:
                chosen = subsets.stratified_sample([questions[i] for i in sel.index], int(n) or None, per, int(seed))
                folder = subsets.save_subset(name, chosen, {"source": spec, "filters": filters.to_dict(),
                                                    "n": int(n) or None, "per": per, "seed": int(seed)}, actor=actor)
                kept = subsets.describe_kept(chosen, len(sel), int(n) or None, per)
                st.success(f"Saved as **subset:{folder.name}**: {kept}.")
            except StudioError as e:
                admin_ui.error(e, actor)
    with right:
        st.subheader("Saved subsets")
        saved = subsets.list_subsets()
        if not saved:
            st.caption("None yet.")
        else:
            rows = [{k: access.shown(v, actor) if isinstance(v, str) else v for k, v in row.items()}
                    for row in subsets.subset_rows(saved)]  # a visitor sees no server path in "made from"
            st.dataframe(rows, hide_index=True, key="saved_table",
                         column_config={"made from": st.column_config.TextColumn(width="medium")})
            gone = st.selectbox("Delete", [s.name for s in saved], key="delete_name")
            locked = admin_ui.gate(actor, "Deleting a subset")
            sure = st.checkbox(f"Yes, delete subset:{gone} and its files", key=f"delete_sure:{gone}", **locked)
            if st.button("Delete subset", key="delete_button", **(locked or {"disabled": not sure})) and sure:
                try:
                    subsets.delete_subset(gone, actor=actor)
                    st.rerun()
                except StudioError as e:
                    admin_ui.error(e, actor)
