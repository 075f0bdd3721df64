"""ScienceQA Tutor Studio: the home page. The app starts from app.py (`make run`).

A guided path for a teacher who has never trained a model: the steps from the questions to a shared
tutor, each with its state read from disk (core.overview.guided_path) and a link to the page that does it."""

import streamlit as st

import admin_ui
from core import access
from core.errors import StudioError
from core.models.catalogue import display_name
from core.overview import guided_path, overview

st.set_page_config(page_title="ScienceQA Tutor Studio", page_icon=":material/science:", layout="wide")
actor = admin_ui.actor()
BADGE = {"done": ":green-badge[:material/check_circle: done]", "running": ":blue-badge[:material/play_arrow: in progress]",
         "next": ":orange-badge[:material/arrow_forward: next]", "waiting": ":gray-badge[:material/schedule: later]"}

st.title(":material/science: ScienceQA Tutor Studio")
st.markdown(
    "Turn a small pretrained chat model (**SmolLM2-135M** works offline; **nanochat** d20 and others "
    "come from the Hugging Face Hub) into a science tutor for school students by fine-tuning it on "
    "**ScienceQA**: 21,208 multiple-choice science questions with lectures and explanations, grades 1-12."
)

try:
    ov = overview()
except StudioError as e:
    admin_ui.error(e, actor)
    st.stop()

if ov.offline_note:
    st.info(ov.offline_note, icon=":material/cloud_off:")

st.subheader("Start here")
for i, step in enumerate(guided_path(ov), start=1):
    with st.container(border=True, key=f"step_{i}"):
        text, link = st.columns([4, 1.3], vertical_alignment="center")
        text.markdown(f"**{i}. {step.title}** {BADGE[step.state]}")
        text.caption(step.detail)
        link.page_link(step.page, label=step.action, icon=":material/arrow_forward:" if step.state == "next" else None)

st.subheader("At a glance")
a, b, c = st.columns(3)
a.metric("Embedded sample", f"{ov.sample_rows:,} questions",
         help=" · ".join(f"{k}: {v}" for k, v in sorted(ov.sample_splits.items())))
b.metric("Models ready", len(ov.models_ready),
         help=access.shown(", ".join(display_name(m) for m in ov.models_ready), actor) or "none yet")
total_runs = sum(ov.runs_by_state.values())
c.metric("Training runs", total_runs,
         help=" · ".join(f"{k}: {v}" for k, v in sorted(ov.runs_by_state.items())) or "none yet")
if ov.latest_run:
    st.caption(f"Latest run: **{display_name('run:' + ov.latest_run)}** ({ov.latest_run_state}). "
               f"Saved subsets: {len(ov.subsets)}.")

if actor.trusted:
    st.caption(f"App home folder: `{ov.home}` (set `SQA_STUDIO_HOME` to move it). "
               "Everything here also runs from the command line: `python -m core --help`.")
else:
    st.caption("This app is public: browse the data, compare the models already here and chat with the tutor. "
               "Training and managing models need the admin password (sidebar).")
