"""Streamlit view of sweeps for the Train page: the launch form and a sweep's live table, tests and curves.

UI only: the grid grammar and the learning-rate field are core.training.sweep_grid's, the best setting
and the tables core.training.sweep_results'; a sweep starts through core.jobs.kinds.submit(SweepRequest)
and is stopped or resumed by core.training.sweeps.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import admin_ui
import train_ui
from core import access
from core.data.prompts import FORMATS
from core.errors import StudioError
from core.home import area
from core.jobs import kinds, runs
from core.training import sweep_folder, sweep_grid, sweep_results, sweeps
from core.training.progress import chart_series, run_colors
from core.training.recipes import RECIPES, suggested_format, suggested_recipe


def sweep_form(models: dict[str, str], actor: access.Actor) -> None:
    """Launch a sweep: which formats and learning rates to try (any recipe field under Advanced)."""
    c1, c2, c3 = st.columns(3)
    model = c1.selectbox("Model", list(models), format_func=lambda n: models.get(n, n), key="sw_model")
    data = c2.selectbox("Questions", train_ui.data_options(), key="sw_data")
    recipe = suggested_recipe(model)
    lr_field = sweep_grid.lr_setting(recipe)
    minutes = c3.number_input("Minutes per run", min_value=0.5, max_value=600.0, value=3.0, step=0.5, key="sw_min")
    formats = c1.multiselect("Prompt formats to try", list(FORMATS), default=[suggested_format(recipe, model)],
                             format_func=lambda f: FORMATS[f].label, key="sw_formats")
    base_lr = getattr(RECIPES[recipe], lr_field)
    lrs = c2.text_input("Learning rates to try", value=f"{base_lr:g}, {base_lr / 2:g}", key="sw_lrs",
                        help=f"Comma-separated values of the recipe's {lr_field}.")
    seeds = c3.number_input("Seeds per setting", min_value=1, max_value=5, value=1, step=1, key="sw_seeds",
                            help="Each setting trained this many times with different seeds: how much of a "
                                 "difference is luck.")
    extra, n_eval = "", 500
    if st.toggle("Advanced: any recipe setting, evaluation questions", key="sw_adv"):
        extra = st.text_area("More settings to vary, one per line (SETTING=V1,V2)", key="sw_extra",
                             placeholder="batch_size=16,32\nlora_r=8,16", help="Fields: " + ", ".join(sweep_grid.GRID_KEYS))
        n_eval = st.number_input("Held-out questions to score each run on", min_value=10, max_value=100000,
                                 value=500, step=50, key="sw_neval")
    try:
        grid = sweep_grid.grid_from_choices(formats, lr_field, lrs, extra)
        n_runs = len(sweep_grid.settings(grid)) * int(seeds)
        st.caption(f"{n_runs} runs of {minutes:g} min, one after another: about {n_runs * minutes:.0f} min of "
                   "training, plus a short evaluation after each.")
    except ValueError as e:
        grid = None
        st.caption(str(e))
    may, why = train_ui.allowed(actor, "Training a sweep")
    if st.button("Launch sweep", type="primary", icon=":material/play_arrow:", key="sw_launch",
                 disabled=grid is None or not may, help=why or None):
        try:
            with st.spinner("Checking every setting and fixing the evaluation questions..."):
                job = kinds.submit(sweeps.SweepRequest(model, data, grid, seeds=list(range(int(seeds))),
                                                       minutes=minutes, recipe=recipe, eval_questions=int(n_eval)),
                                   actor=actor)
            st.session_state["sw_pick"] = job.run_dir.name
            st.session_state["train_msg"] = f"Launched sweep {job.run_dir.name}."
            st.rerun()
        except (ValueError, StudioError) as e:
            admin_ui.error(e, actor)


def sweep_curves(res: dict, colors: dict[str, str]) -> None:
    """Every member's curves on one chart per metric, one colour per setting."""
    cols = st.columns(2)
    for col, (key, title) in zip(cols, [("loss", "Training loss"), ("eval_accuracy", "Eval accuracy (in training)")]):
        fig = go.Figure()
        shown = set()
        for m in res["members"]:
            x, y = chart_series(runs.read_metrics(sweep_folder.member_dir(m["member"])), key)
            if not x:
                continue
            fig.add_scatter(x=x, y=y, mode="lines+markers" if len(x) < 30 else "lines", name=m["setting"],
                            legendgroup=m["setting"], showlegend=m["setting"] not in shown,
                            line={"color": colors.get(m["setting"])}, hovertext=f"seed {m['seed']}")
            shown.add(m["setting"])
        yaxis = {"tickformat": ".0%", "range": [0, 1.02]} if key == "eval_accuracy" else {"rangemode": "tozero"}
        fig.update_layout(title=title, height=300, margin=dict(l=10, r=10, t=40, b=10), xaxis={"title": "step"},
                          yaxis=yaxis, legend=dict(orientation="h", yanchor="top", y=-0.25, x=0, xanchor="left"))
        col.plotly_chart(fig, key=f"sw_chart_{key}", config={"displayModeBar": False})


def _controls(sweep_dir: Path, s: runs.Status, actor: access.Actor) -> None:
    b1, b2, b3, _ = st.columns([1, 1, 1, 3])
    try:
        if s.active:
            if b1.button("Stop sweep", icon=":material/stop:", key="sw_stop",
                         help="The run training now saves a checkpoint; resume the sweep later"):
                sweeps.stop_sweep(sweep_dir, actor=actor)
            if b2.button("Cancel sweep", icon=":material/cancel:", key="sw_cancel", help="Stop without a checkpoint"):
                sweeps.stop_sweep(sweep_dir, cancel=True, actor=actor)
        elif s.state != "done" and b1.button("Resume sweep", icon=":material/replay:", key="sw_resume"):
            sweeps.resume_sweep(sweep_dir, actor=actor)
            st.rerun(scope="app")
    except StudioError as e:
        admin_ui.error(e, actor)


@st.fragment(run_every=3)
def sweep_view(sweep_dir: Path, actor: access.Actor) -> None:
    s = runs.read_status(sweep_dir)
    res = sweep_results.results(sweep_dir)
    st.markdown(f"{train_ui.badge(s.state)} **{sweep_dir.name}**: {s.step} of {s.total} runs scored"
                + (f" · {s.message}" if s.active and s.message else ""))
    if s.error:
        admin_ui.error(s.error, actor)
    _controls(sweep_dir, s, actor)
    st.caption(f"Every run is scored on the same {res['questions']} held-out questions ({res['how']}); chance "
               + ("–" if res["chance"] is None else f"{100 * res['chance']:.1f}%") + ". Accuracy pools the seeds "
               "of a setting; its 95% interval is Wilson's." + (f" No best setting: {res['best_note']}."
                                                                 if res.get("best_note") else ""))
    st.dataframe(pd.DataFrame(sweep_results.settings_table(res)), hide_index=True, width="stretch", key="sw_table")
    if res["tests"]:
        sig = [t for t in res["tests"] if t["significant"]]
        st.markdown("**Which differences are real?** " + (
            "; ".join(f"{t['b']} vs {t['a']}: {100 * t['difference']:+.1f} points" for t in sig) if sig
            else "None of the differences is significant: with these questions they could be luck."))
        n_tests = len(res["tests"])
        with st.expander("The paired test" if n_tests == 1 else f"The {n_tests} paired tests (Holm-corrected)"):
            st.dataframe(pd.DataFrame(sweep_results.tests_table(res)), hide_index=True, width="stretch")
    sweep_curves(res, run_colors([r["setting"] for r in res["settings"]]))
    d1, d2, _ = st.columns([1, 1, 3])
    d1.download_button("Table (CSV)", sweep_results.to_csv(res), file_name=f"{sweep_dir.name}.csv", mime="text/csv",
                       icon=":material/download:", key="sw_csv")
    d2.download_button("Model-card section", sweep_results.to_markdown(res), file_name=f"{sweep_dir.name}.md",
                       mime="text/markdown", icon=":material/description:", key="sw_md")
    if s.terminal and st.session_state.get("sw_seen_state", {}).get(sweep_dir.name) not in (None, s.state):
        st.session_state["sw_seen_state"][sweep_dir.name] = s.state
        st.rerun(scope="app")
    st.session_state.setdefault("sw_seen_state", {})[sweep_dir.name] = s.state


def sweep_section(actor: access.Actor) -> None:
    all_sweeps = sweep_folder.list_sweeps()
    with st.expander("Compare settings: start a sweep", icon=":material/science:"):
        st.caption("Which learning rate or prompt format makes the best tutor? A sweep trains one run per setting, "
                   "one after another, scores each on the same held-out questions and says which differences are "
                   "more than luck.")
        sweep_form(train_ui.model_options(), actor)
    if all_sweeps:
        st.subheader("Sweeps")
        names = [x.name for x in all_sweeps]
        if st.session_state.get("sw_pick") not in names:
            st.session_state["sw_pick"] = names[0]
        picked = st.selectbox("Sweep", names, key="sw_pick")
        sweep_view(area("sweeps") / picked, actor)
