"""Train page: launch a fine-tuning run in the background, watch it live, stop / cancel / resume it,
list, compare and delete runs; sweeps of settings. A view: the run folder is the only channel to the worker
(core.jobs), runs start through core.jobs.kinds.submit, the widgets live in train_ui.py and sweep_ui.py."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import admin_ui
import sweep_ui
import train_ui
from core.errors import StudioError
from core.home import area
from core.jobs import runs
from core.jobs.device import device_holder
from core.training.progress import CHARTS, COMPARE_CHARTS, chart_series, run_colors, snapshot
from core.training.recipes import config_diff

st.set_page_config(page_title="Train · ScienceQA Tutor Studio", page_icon=":material/exercise:", layout="wide")
actor = admin_ui.actor()


def new_delete_round() -> None:
    """Any change of the run to delete asks for the confirmation again."""
    st.session_state["del_round"] = st.session_state.get("del_round", 0) + 1


st.title(":material/exercise: Train")
st.caption("Fine-tune a model on ScienceQA in the background. Training keeps going if you close this page; "
           "one job uses the device at a time, others wait in the queue.")
if msg := st.session_state.pop("train_msg", None):
    st.success(msg)

all_runs = runs.list_runs(area("runs"))
with st.expander("Start a new run", expanded=not any(r.status.active for r in all_runs), icon=":material/add:"):
    train_ui.launch_form(actor)

sweep_ui.sweep_section(actor)

if queued := runs.waiting(all_runs):
    holder = device_holder()
    st.info(("The device is in use by " + holder.holder + ". " if holder else "")
            + "Queue: " + ", ".join(f"**{x.name}** (waiting for {x.status.waiting_for})" for x in queued),
            icon=":material/hourglass_top:")

if not all_runs:
    st.info("No runs yet: launch one above (the tiny model on the sample trains on a CPU in minutes).")
    st.stop()

names = [x.name for x in all_runs]
titles = {x.name: snapshot(x).title for x in all_runs}
colors = run_colors(names[::-1])  # oldest first: a new run does not repaint the others
if st.session_state.get("train_run_pick") not in names:
    active = [x.name for x in all_runs if x.status.active]
    st.session_state["train_run_pick"] = active[0] if active else names[0]
shown = st.selectbox("Run", names, key="train_run_pick", format_func=titles.get)
train_ui.live_view(runs.run_path(shown), colors, actor)

# ------------------------------------------------------------------------------------------- runs
left, right = st.columns([3, 1])
with left:
    picked = st.multiselect("Compare runs", names, default=names[:2] if len(names) > 1 else names, key="cmp",
                            format_func=titles.get)
    if len(picked) >= 1:
        cols = st.columns(3)
        hists = {n: runs.read_metrics(runs.run_path(n)) for n in picked}
        for col, (k, title, how) in zip(cols, [c for c in CHARTS if c[0] in COMPARE_CHARTS]):
            col.plotly_chart(train_ui.line_chart(title, {n: chart_series(h, k) for n, h in hists.items()}, colors,
                                                 0.6 if k == "loss" else 0, percent=how == "percent", names=titles),
                             key=f"cmp_{k}", config={"displayModeBar": False})
        if len(picked) >= 2:
            diff = config_diff({x.name: x.config for x in all_runs if x.name in picked})
            if diff:
                st.caption("Settings that differ")
                st.dataframe(pd.DataFrame(diff).T.astype(str), width="stretch")
            else:
                st.caption("These runs have identical settings.")
with right:
    victim = st.selectbox("Delete a run", names, key="del_pick", format_func=titles.get, on_change=new_delete_round)
    sure_key = f"del_sure_{st.session_state.get('del_round', 0)}"
    sure = st.checkbox("Yes, delete it", key=sure_key, help="Its whole folder goes: metrics, checkpoints and model")
    may, why = train_ui.allowed(actor, "Deleting a run")
    if st.button("Delete", icon=":material/delete:", disabled=not sure or not may, key="del_button", help=why or None):
        try:
            runs.delete_run(runs.run_path(victim), actor=actor)
            st.session_state["train_msg"] = f"Deleted {titles[victim]}."
            new_delete_round()  # the next deletion asks again
            st.rerun()
        except StudioError as e:
            admin_ui.error(e, actor)
