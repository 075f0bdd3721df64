"""Data page: pick a ScienceQA source, filter it, look at a question and the exact conversation (and
tokens) it becomes for the model, and save subsets that training and evaluation accept as sources.
Decisions live in core.data (sources, subsets, selection, preview); the drawing helpers in data_ui; this
file only lays out the page."""

from __future__ import annotations

import streamlit as st

import admin_ui
import data_ui
from core import access, hub
from core.data import filtering, selection, sources, subsets
from core.errors import StudioError

st.set_page_config(page_title="Data · ScienceQA Tutor Studio", page_icon=":material/dataset:", layout="wide")
actor = admin_ui.actor()
st.title(":material/dataset: Data")
st.caption("Browse, filter and subset ScienceQA; see the exact conversation (and tokens) each question becomes.")

# --- source ---------------------------------------------------------------------------------------
saved = subsets.list_subsets()
with st.sidebar:
    st.header("Source")
    choice = st.selectbox("Questions from", selection.source_options([s.name for s in saved], actor.trusted),
                          key="source", format_func=selection.source_label)
    spec, meta = choice, ""
    if choice == "local":
        spec = st.text_input("File or folder", key="path", placeholder="/data/ScienceQA or rows.jsonl").strip()
    if choice in ("local", "hub") and actor.trusted:
        meta = st.text_input("Folder with pid_splits.json / captions.json (optional)", key="meta",
                             help="The official split and caption files: they give Hub/parquet rows their "
                                  "ScienceQA pids and image captions.").strip()
if not hub.hub_reachable():
    st.caption(f":material/cloud_off: {hub.OFFLINE_HELP}")
if not spec:
    st.info("Enter a file (.jsonl/.json/.csv/.parquet) or a folder (Hugging Face parquet layout, original "
            "problems.json release, or a saved subset) in the sidebar.")
    st.stop()
try:
    sources.check_source(spec, actor)  # before the cache: a visitor never gets an admin's server path from it
    if meta:
        access.require(actor, "Reading a file on the server")
    questions, frame = data_ui.load(spec, meta, sources.source_stamp(spec, meta or None))
except StudioError as e:
    admin_ui.error(e, actor)
    st.stop()

# --- filters and what they keep -------------------------------------------------------------------
with st.sidebar:
    filters = data_ui.filters(frame)
sel = filtering.filter_frame(frame, filters)
data_ui.headline(selection.headline(sel, frame))
overview, browse, build = st.tabs([":material/bar_chart: Overview", ":material/search: Browse a question",
                                  ":material/save: Subsets"])

with overview:
    if sel.empty:
        st.warning("No questions match these filters.")
    else:
        data_ui.charts(selection.overview_charts(sel))

# --- browse ---------------------------------------------------------------------------------------
with browse:
    st.caption("Tick a row to see that question and the conversation it becomes.")
    table = sel[["pid", "split", "subject", "grade", "topic", "context", "n_choices", "question"]]
    event = st.dataframe(table, hide_index=True, height=260, on_select="rerun", selection_mode="single-row",
                         key="table", column_config={"question": st.column_config.TextColumn(width="large"),
                                                "n_choices": st.column_config.NumberColumn("choices")})
    if not sel.empty:
        q = questions[sel.index[event.selection.rows[0] if event.selection.rows else 0]]
        detail, convo = st.columns(2, gap="large")
        with detail:
            data_ui.question(q)
        with convo:
            data_ui.tokens(data_ui.conversation(q), actor)

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
                folder, kept = subsets.save_selection(name, [questions[i] for i in sel.index], n, per, seed,
                                                      source=spec, filters=filters, actor=actor)
                st.success(f"Saved as **subset:{folder.name}**: {kept}.")
            except StudioError as e:
                admin_ui.error(e, actor)
    with right:
        st.subheader("Saved subsets")
        saved = subsets.list_subsets()
        if not saved:
            st.caption("None yet.")
        else:
            st.dataframe(subsets.subset_rows(saved, actor), hide_index=True, key="saved_table",
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
