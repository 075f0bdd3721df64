"""Streamlit parts of the Train page: the launch form, the live view of one run, the charts, the badges.

UI only: a run's config is built by core.training.recipes.build_config, started through
core.jobs.kinds.submit(TrainConfig), read through core.training.progress (snapshot, run_charts: add a
chart there and it is drawn here) and core.jobs.runs.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import admin_ui
from core import access
from core.data.prompts import FORMATS
from core.errors import StudioError
from core.jobs import kinds, runs
from core.models.defaults import default_base_model
from core.training.jobs import estimate, resume_training
from core.training.letters import history_warning
from core.training.progress import eval_every_of, learning_charts, run_charts, snapshot, table_row
from core.training.recipes import RECIPE_HELP, RECIPES, build_config, suggested_format, suggested_recipe
from core.training.tracking import TRACKERS
from jobs_ui import allowed

BADGE = {"queued": (":material/schedule:", "gray"), "running": (":material/play_arrow:", "blue"),
         "stopping": (":material/hourglass_top:", "orange"), "done": (":material/check_circle:", "green"),
         "failed": (":material/error:", "red"), "stopped": (":material/stop_circle:", "gray"),
         "crashed": (":material/report:", "red")}


def badge(state: str) -> str:
    icon, color = BADGE.get(state, (":material/help:", "gray"))
    return f":{color}-badge[{icon} {state}]"


def model_options() -> dict[str, str]:
    try:
        from core.models.catalogue import list_models
        entries = list_models()
    except (ImportError, StudioError) as e:
        st.warning(f"Model catalogue unavailable: {e}")
        return {}
    return {e.name: f"{e.label} · {e.availability}" for e in entries if e.availability != "offline"}


def data_options() -> list[str]:
    from core.data.subsets import list_subsets

    return ["sample"] + [f"subset:{s.name}" for s in list_subsets()]


def line_chart(title: str, series: dict[str, tuple[list, list]], colors: dict[str, str], smooth: float = 0.0,
               percent: bool = False, names: dict[str, str] | None = None) -> go.Figure:
    """One metric, one trace per run in the run's colour; accuracy from 0; a lone point drawn as a point.
    A plain spec without plotly's per-property validation: ~8 ms instead of ~26 ms a chart on each rerun."""
    traces = []
    for run, (x, y) in series.items():
        color = colors.get(run)
        if smooth > 0 and len(y) > 1:
            sm, acc = [], y[0]
            for v in y:
                acc = smooth * acc + (1 - smooth) * v
                sm.append(acc)
            traces.append({"type": "scatter", "x": x, "y": y, "mode": "lines", "opacity": 0.25, "showlegend": False,
                           "hoverinfo": "skip", "line": {"color": color}})
            y = sm
        mode = "markers" if len(x) == 1 else "lines+markers" if len(x) < 30 else "lines"
        traces.append({"type": "scatter", "x": x, "y": y, "mode": mode, "name": (names or {}).get(run, run),
                       "line": {"color": color}, "marker": {"color": color, "size": 8}})
    last = max((max(x) for x, _ in series.values() if x), default=1)
    xaxis = {"title": {"text": "step"}, "rangemode": "tozero"}
    if last < 10:
        xaxis.update(dtick=1, range=[0, last + 1])
    yaxis = {"rangemode": "tozero"}
    if percent:
        yaxis.update(tickformat=".0%", range=[0, 1.02])
    layout = {"title": {"text": title}, "height": 280, "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
              "xaxis": xaxis, "yaxis": yaxis, "showlegend": len(series) > 1,
              "legend": {"orientation": "h", "yanchor": "top", "y": -0.38, "x": 0, "xanchor": "left"}}
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def _advanced(model: str, r, recipe_key: str) -> dict:
    """The expert settings (every recipe field the page offers); returns build_config's keyword arguments."""
    a1, a2, a3 = st.columns(3)
    names = list(RECIPES)
    recipe = a1.selectbox("Recipe", names, index=names.index(suggested_recipe(model)), key=recipe_key)
    fmt = a2.selectbox("Prompt format", list(FORMATS), index=list(FORMATS).index(suggested_format(recipe, model)),
                       format_func=lambda f: FORMATS[f].label, key=f"tr_format_{recipe}")
    a3.radio("Budget", ["minutes", "epochs"], horizontal=True, key="tr_budget")
    o1, o2, o3, o4 = st.columns(4)
    k = f"_{recipe}"
    return dict(
        recipe=recipe, fmt=fmt,
        lr=o1.number_input("Learning rate (AdamW)", min_value=1e-7, max_value=1.0, value=r.lr, format="%.1e",
                           key="tr_lr" + k),
        matrix_lr=o1.number_input("Matrix lr (Muon)", min_value=1e-7, max_value=1.0, value=r.matrix_lr,
                                  format="%.1e", disabled=r.optimizer != "muon", key="tr_mlr" + k),
        batch_size=int(o2.number_input("Batch size", min_value=1, max_value=1024, value=r.batch_size, step=1,
                                       key="tr_bs" + k)),
        grad_accum=int(o2.number_input("Gradient accumulation", min_value=1, max_value=1024, value=r.grad_accum,
                                       step=1, key="tr_acc" + k)),
        max_seq_len=int(o3.number_input("Max sequence length", min_value=16, max_value=131072, value=r.max_seq_len,
                                        step=64, key="tr_seq" + k)),
        seed=int(o3.number_input("Seed", min_value=0, max_value=2**31 - 1, value=r.seed, step=1, key="tr_seed" + k)),
        eval_every=int(o4.number_input("Evaluate every (steps)", min_value=1, value=r.eval_every, step=10,
                                       key="tr_eval" + k, help="Short runs evaluate more often, so that they still "
                                       "show several evaluation points.")),
        save_every=int(o4.number_input("Checkpoint every (steps)", min_value=1, value=r.save_every, step=10,
                                       key="tr_save" + k)),
        answer_weight=o1.number_input("Answer weight", min_value=0.0, max_value=100.0, value=r.answer_weight, step=0.5,
                                      key="tr_aw" + k, help="The answer letter's own loss is added with this weight to "
                                      "the loss of every answer token: without it, a long explanation's wording "
                                      "drowns the one token that says which answer is right."),
        shuffle_options=o4.checkbox("Shuffle the options", value=r.shuffle_options, key="tr_shuffle" + k,
                                    help="A new order of the options for every example in every epoch, so that no "
                                         "letter can be learned as a favourite (evaluation keeps the official order)."),
        lora=o1.checkbox("LoRA adapters", value=r.lora, key="tr_lora" + k),
        grad_checkpointing=o2.checkbox("Gradient checkpointing", value=r.grad_checkpointing, key="tr_ckpt" + k),
        compile=o3.checkbox("Compile (torch.compile)", value=r.compile, key="tr_compile" + k,
                            help="Faster steps after a slower first one, which compiles the model "
                                 "(~30 s for the tiny model on 2 CPU cores)"),
        report_to=tuple(o4.multiselect("Also log to", list(TRACKERS), placeholder="none", key="tr_report_to",
                                       help="Mirror the metrics and config into an experiment tracker: " +
                                            "; ".join(TRACKERS.values()) + ". The run folder keeps everything "
                                                                           "either way.")))


def launch_form(actor: access.Actor) -> None:
    """Model, questions, budget and name; the expert settings behind Advanced; Estimate and Launch."""
    if st.session_state.pop("tr_clear_label", False):
        st.session_state["tr_label"] = ""  # set before the widget exists: the box is empty after a launch
    models = model_options()
    c1, c2, c3 = st.columns(3)
    model_names = list(models) + (["(a local folder)"] if actor.trusted else [])
    proposed = default_base_model()
    model = c1.selectbox("Model to fine-tune", model_names, format_func=lambda n: models.get(n, n), key="tr_model",
                         index=model_names.index(proposed) if proposed in model_names else 0,
                         help="SmolLM2-135M is a small pretrained chat model: it already writes English, and "
                              "fine-tuning teaches it ScienceQA. The tiny model trains from scratch in minutes, "
                              "for a first try of the whole loop.")
    if model == "(a local folder)":
        model = c1.text_input("Model folder", placeholder="/path/to/model", key="tr_model_path").strip()
    data = c2.selectbox("Questions to learn from", data_options() + (["(a file or folder)"] if actor.trusted else []),
                        key="tr_data", help="The embedded sample, or a subset you saved on the Data page.")
    if data == "(a file or folder)":
        data = c2.text_input("Data path", placeholder="/path/to/questions.jsonl", key="tr_data_path").strip()
    recipe_key = f"tr_recipe_{model}"
    recipe = st.session_state.get(recipe_key, suggested_recipe(model))  # chosen under Advanced
    budget_kind = st.session_state.get("tr_budget", "minutes")  # chosen under Advanced
    budget = c3.number_input(f"Train for ({budget_kind})", min_value=0.1, max_value=10000.0, step=1.0,
                             value=5.0 if budget_kind == "minutes" else float(RECIPES[recipe].epochs),
                             key=f"tr_b_{budget_kind}_{recipe}")
    label = st.text_input("Name this run (optional)", key="tr_label", max_chars=80,
                          placeholder="e.g. grade 3-5 natural science, 10 minutes")
    st.caption(f"Recipe **{recipe}**: {RECIPE_HELP[recipe]}")
    with st.expander("Advanced: recipe, prompt format and every training setting"):
        settings = _advanced(model, RECIPES[recipe], recipe_key)
    may, why = allowed(actor, "Training")
    b1, b2, _ = st.columns([1, 1, 4])
    go_ = b1.button("Launch", type="primary", icon=":material/play_arrow:", key="tr_launch", disabled=not may,
                    help=why or None)
    check = b2.button("Estimate", icon=":material/calculate:", key="tr_check",
                      help="How long and how much memory, before launching")
    if not (check or go_):
        return
    try:
        cfg = build_config(model, data, label=label, minutes=budget if budget_kind == "minutes" else None,
                           epochs=budget if budget_kind == "epochs" else None, **settings)
        with st.spinner("Checking the model and data..."), access.acting(actor):
            if check:
                est = estimate(cfg)
                (st.info if est.fits else st.warning)(f"Estimate: {est.describe()}. {est.memory_note}")
                if est.warning:
                    st.warning(est.warning, icon=":material/hourglass_empty:")
            if go_:
                run_dir = kinds.submit(cfg, actor=actor).run_dir
                st.session_state["train_run_pick"] = run_dir.name  # the run just launched is the one shown
                st.session_state["tr_clear_label"] = True
                st.session_state["train_msg"] = f"Launched {cfg.label or run_dir.name}."
                st.rerun()
    except (ValueError, StudioError) as e:
        admin_ui.error(e, actor)


def _controls(run_dir: Path, s: runs.Status, head, key: str, actor: access.Actor) -> None:
    try:
        if s.active and s.state != "queued" and s.pid:
            if head[1].button("Stop", icon=":material/stop:", help="Save a checkpoint, then stop (resume later)",
                              key=f"stop_{run_dir.name}"):
                runs.request_stop(run_dir, actor=actor)
                st.toast("Stop requested: saving a checkpoint...")
            if head[2].button("Cancel", icon=":material/cancel:", help="Stop now, without a checkpoint",
                              key=f"cancel_{run_dir.name}"):
                runs.request_stop(run_dir, cancel=True, actor=actor)
        elif s.active:
            if head[1].button("Cancel", icon=":material/cancel:", key=f"cancelq_{run_dir.name}"):
                runs.request_stop(run_dir, cancel=True, actor=actor)
        elif s.state in ("stopped", "crashed", "failed"):
            if head[1].button("Resume", icon=":material/play_arrow:", help="Continue from the last checkpoint",
                              key=f"resume_{run_dir.name}"):
                resume_training(run_dir, actor=actor)
                st.session_state.pop(key, None)
                st.rerun(scope="app")
    except (ValueError, StudioError) as e:
        admin_ui.error(e, actor)


@st.fragment(run_every=2)
def live_view(run_dir: Path, colors: dict[str, str], actor: access.Actor) -> None:
    """One run live: header with its state, controls, progress, charts, log; then the table of all runs."""
    key = f"reader:{run_dir}"
    if key not in st.session_state:
        st.session_state[key] = runs.MetricsReader(run_dir)
    reader: runs.MetricsReader = st.session_state[key]
    reader.read_new()  # only the lines written since the last read
    listed = runs.list_runs(run_dir.parent)  # one read per refresh: the header, the controls and the table agree
    views = {x.name: snapshot(x, time.time()) for x in listed}
    v = views.get(run_dir.name)
    if v is None:
        st.rerun(scope="app")  # deleted meanwhile
    info = next(x for x in listed if x.name == run_dir.name)
    s = info.status
    was = st.session_state.get(f"state:{run_dir}")
    st.session_state[f"state:{run_dir}"] = v.state
    head = st.columns([3, 1, 1, 1])
    head[0].markdown(f"### {v.title} {badge(v.state)}")
    head[0].caption(f"{access.shown(v.model, actor)} on {access.shown(v.data, actor)} · recipe {v.recipe}"
                    + (f" · {v.message}" if v.message else ""))
    _controls(run_dir, s, head, key, actor)
    st.progress(v.progress, text=v.progress_text())
    if v.state in ("failed", "crashed"):
        admin_ui.error(v.error or f"The run {v.state}.", actor)
    if s.damaged or reader.skipped:
        st.warning("This run's files are damaged: " + "; ".join(
            ([s.damaged] if s.damaged else []) + ([f"{reader.skipped} unreadable metrics lines skipped"]
                                                  if reader.skipped else [])) + ".", icon=":material/report:")
    charts, waiting = run_charts(reader.history)
    if reader.history:
        smooth = st.columns([1, 3])[0].slider("Loss smoothing", 0.0, 0.99, 0.6, 0.01, key=f"smooth_{run_dir.name}")
        for warning in [w for w in (s.extra.get("warning"), history_warning(reader.history)) if isinstance(w, str) and w]:
            st.warning(warning, icon=":material/casino:")
        figs = [(k, line_chart(title, {run_dir.name: xy}, colors, smooth if k == "loss" else 0.0,
                               percent=how == "percent"), []) for k, title, how, xy in charts]
        figs += [(c.key, line_chart(c.title, c.series, colors, percent=c.percent), c.lines)
                 for c in learning_charts(reader.history, s.extra)]
        for row in range(0, len(figs), 3):
            for col, (k, fig, lines) in zip(st.columns(3), figs[row:row + 3]):
                for y, label in lines:
                    fig.add_hline(y=y, line_dash="dot", annotation_text=label)
                col.plotly_chart(fig, key=f"chart_{k}", config={"displayModeBar": False})
        if waiting:
            st.caption("Not measured yet: " + ", ".join(waiting) + " (the run evaluates every "
                       f"{eval_every_of(info.config) or '?'} steps at most, and more often when it is short).")
    else:
        st.caption("No metrics yet: the worker is loading the model and data.")
    with st.expander("Log", expanded=v.state in ("failed", "crashed")):
        st.code(access.shown(runs.log_tail(run_dir, 30), actor) or "(empty)", language="text", wrap_lines=True)
    st.subheader("Runs")
    rows = [table_row(views[n]) for n in views]
    for row in rows:  # a visitor sees no server path in the model and data columns
        row["model"], row["data"] = access.shown(str(row["model"]), actor), access.shown(str(row["data"]), actor)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"best eval acc": st.column_config.NumberColumn(format="percent"),
                                "progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                            format="percent")})
    if was is not None and was != v.state and s.terminal:
        st.rerun(scope="app")  # refresh the rest of the page once the run ends
