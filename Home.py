"""ScienceQA Tutor Studio: the home page. Run with `make run` (or `streamlit run Home.py`)."""

import streamlit as st

from core.errors import StudioError
from core.overview import overview

st.set_page_config(page_title="ScienceQA Tutor Studio", page_icon=":material/science:", layout="wide")

st.title(":material/science: ScienceQA Tutor Studio")
st.markdown(
    "Turn a small **nanochat** model into a science tutor for school students by fine-tuning it on "
    "**ScienceQA**: 21,208 multiple-choice science questions with lectures and explanations, grades 1-12."
)

try:
    ov = overview()
except StudioError as e:
    st.error(str(e))
    st.stop()

if ov.offline_note:
    st.info(ov.offline_note, icon=":material/cloud_off:")

a, b, c = st.columns(3)
a.metric("Embedded sample", f"{ov.sample_rows:,} questions",
         help=" · ".join(f"{k}: {v}" for k, v in sorted(ov.sample_splits.items())))
b.metric("Models ready", len(ov.models_ready), help=", ".join(ov.models_ready) or "none yet")
total_runs = sum(ov.runs_by_state.values())
c.metric("Training runs", total_runs,
         help=" · ".join(f"{k}: {v}" for k, v in sorted(ov.runs_by_state.items())) or "none yet")
if ov.latest_run:
    st.caption(f"Latest run: **{ov.latest_run}** ({ov.latest_run_state}). Saved subsets: {len(ov.subsets)}.")

st.subheader("Pages")
cols = st.columns(5)
for col, (page, label, icon, text) in zip(cols, [
    ("pages/1_Data.py", "Data", ":material/dataset:", "Browse, filter and subset ScienceQA; see the exact conversation each row becomes."),
    ("pages/2_Models.py", "Models", ":material/neurology:", "nanochat checkpoints from the Hub, local folders, the tiny offline preset; memory estimates."),
    ("pages/3_Train.py", "Train", ":material/model_training:", "Fine-tune in the background with live loss curves; stop, resume and compare runs."),
    ("pages/4_Compare.py", "Compare", ":material/compare:", "Base vs fine-tuned with leaderboard-comparable numbers, side by side."),
    ("pages/5_Tutor.py", "Tutor", ":material/school:", "Chat with the tutor; share it with a class through a link."),
]):
    with col.container(border=True):
        st.page_link(page, label=label, icon=icon)
        st.caption(text)

st.caption(f"App home folder: `{ov.home}` (set `SQA_STUDIO_HOME` to move it). "
           "Everything here also runs from the command line: `python -m core --help`.")
