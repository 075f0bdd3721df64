"""Train page: launch a fine-tuning run in the background, watch it live, stop / cancel / resume it,
list, compare and delete runs. The run folder is the only channel to the worker (core.jobs.runs); this
file only lays out widgets and calls core.training.jobs / core.jobs.runs."""

from __future__ import annotations

import time

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.jobs import runs
from core.errors import StudioError
from core.home import area
from core.data.prompts import FORMATS
from core.training.recipes import RECIPE_HELP, RECIPES, build_config, config_diff, suggested_format, suggested_recipe
from core.training.jobs import estimate, resume_training, start_training
from core.training.progress import run_colors, snapshot, table_row
from core.training.tracking import TRACKERS

st.set_page_config(page_title="Train · ScienceQA Tutor Studio", page_icon=":material/exercise:", layout="wide")
BADGE = {"queued": (":material/schedule:", "gray"), "running": (":material/play_arrow:", "blue"),
         "stopping": (":material/hourglass_top:", "orange"), "done": (":material/check_circle:", "green"),
         "failed": (":material/error:", "red"), "stopped": (":material/stop_circle:", "gray"),
         "crashed": (":material/report:", "red")}
CHARTS = [("loss", "Training loss"), ("eval_loss", "Eval loss"), ("eval_accuracy", "Eval accuracy"),
          ("lr", "Learning rate"), ("tokens_per_s", "Throughput (real tokens/s)"), ("peak_memory", "Peak memory (MiB)")]


def badge(state: str) -> str:
    icon, color = BADGE.get(state, ("", "gray"))
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
    try:
        from core.data.subsets import list_subsets
        return ["sample"] + [f"subset:{s.name}" for s in list_subsets()]
    except ImportError:
        return ["sample"]


def line_chart(title: str, series: dict[str, tuple[list, list]], colors: dict[str, str], smooth: float = 0.0,
               percent: bool = False) -> go.Figure:
    """One metric, one trace per run in the run's colour; accuracy from 0; a lone point drawn as a point."""
    fig = go.Figure()
    for name, (x, y) in series.items():
        color = colors.get(name)
        if smooth > 0 and len(y) > 1:
            sm, acc = [], y[0]
            for v in y:
                acc = smooth * acc + (1 - smooth) * v
                sm.append(acc)
            fig.add_scatter(x=x, y=y, mode="lines", name=f"{name} (raw)", opacity=0.25, showlegend=False,
                            line={"color": color})
            y = sm
        mode = "markers" if len(x) == 1 else "lines+markers" if len(x) < 30 else "lines"
        fig.add_scatter(x=x, y=y, mode=mode, name=name, line={"color": color}, marker={"color": color, "size": 8})
    last = max((max(x) for x, _ in series.values() if x), default=1)
    xaxis = {"title": "step", "rangemode": "tozero"}
    if last < 10:
        xaxis.update(dtick=1, range=[0, last + 1])
    yaxis = {"rangemode": "tozero"}
    if percent:
        yaxis.update(tickformat=".0%", range=[0, 1.02])
    fig.update_layout(title=title, height=280, margin=dict(l=10, r=10, t=40, b=10), xaxis=xaxis, yaxis=yaxis,
                      showlegend=len(series) > 1,
                      legend=dict(orientation="h", yanchor="top", y=-0.38, x=0, xanchor="left"))
    return fig


def series(hist: list[dict], key: str) -> tuple[list, list]:
    pts = [(r["step"], r[key]) for r in hist if r.get(key) is not None and "resumed_from" not in r]
    if key == "peak_memory":
        pts = [(s, v / 2**20) for s, v in pts]
    return [p[0] for p in pts], [p[1] for p in pts]


def new_delete_round() -> None:
    """Any change of the run to delete asks for the confirmation again."""
    st.session_state["del_round"] = st.session_state.get("del_round", 0) + 1


# --------------------------------------------------------------------------------------- launch form
st.title(":material/exercise: Train")
st.caption("Fine-tune a model on ScienceQA in the background. Training keeps going if you close this page; "
           "one job uses the device at a time, others wait in the queue.")
if msg := st.session_state.pop("train_msg", None):
    st.success(msg)

all_runs = runs.list_runs(area("runs"))
with st.expander("Start a new run", expanded=not any(r.status.active for r in all_runs), icon=":material/add:"):
    models = model_options()
    c1, c2, c3 = st.columns(3)
    model = c1.selectbox("Model to fine-tune", list(models) + ["(a local folder)"],
                         format_func=lambda n: models.get(n, n), key="tr_model",
                         help="Start from the tiny model to try things on a CPU in minutes.")
    if model == "(a local folder)":
        model = c1.text_input("Model folder", placeholder="/path/to/model", key="tr_model_path").strip()
    data = c2.selectbox("Questions to learn from", data_options() + ["(a file or folder)"], key="tr_data",
                        help="The embedded sample, or a subset you saved on the Data page.")
    if data == "(a file or folder)":
        data = c2.text_input("Data path", placeholder="/path/to/questions.jsonl", key="tr_data_path").strip()
    recipe_names = list(RECIPES)
    recipe_key = f"tr_recipe_{model}"
    recipe = st.session_state.get(recipe_key, suggested_recipe(model))  # chosen under Advanced
    r = RECIPES[recipe]
    budget_kind = st.session_state.get("tr_budget", "minutes")  # chosen under Advanced
    budget = c3.number_input(f"Train for ({budget_kind})", min_value=0.1, max_value=10000.0, step=1.0,
                             value=5.0 if budget_kind == "minutes" else float(r.epochs),
                             key=f"tr_b_{budget_kind}_{recipe}")
    label = st.text_input("Name this run (optional)", key="tr_label", max_chars=80,
                          placeholder="e.g. grade 3-5 natural science, 10 minutes")
    st.caption(f"Recipe **{recipe}**: {RECIPE_HELP[recipe]}")
    with st.expander("Advanced: recipe, prompt format and every training setting"):
        a1, a2, a3 = st.columns(3)
        recipe = a1.selectbox("Recipe", recipe_names, index=recipe_names.index(suggested_recipe(model)),
                              key=recipe_key)
        fmt = a2.selectbox("Prompt format", list(FORMATS), index=list(FORMATS).index(suggested_format(recipe, model)),
                           format_func=lambda f: FORMATS[f].label, key=f"tr_format_{recipe}")
        a3.radio("Budget", ["minutes", "epochs"], horizontal=True, key="tr_budget")
        o1, o2, o3, o4 = st.columns(4)
        k = f"_{recipe}"
        lr = o1.number_input("Learning rate (AdamW)", min_value=1e-7, max_value=1.0, value=r.lr, format="%.1e",
                             key="tr_lr" + k)
        matrix_lr = o1.number_input("Matrix lr (Muon)", min_value=1e-7, max_value=1.0, value=r.matrix_lr,
                                    format="%.1e", disabled=r.optimizer != "muon", key="tr_mlr" + k)
        batch = o2.number_input("Batch size", min_value=1, max_value=1024, value=r.batch_size, step=1, key="tr_bs" + k)
        accum = o2.number_input("Gradient accumulation", min_value=1, max_value=1024, value=r.grad_accum, step=1,
                                key="tr_acc" + k)
        seq = o3.number_input("Max sequence length", min_value=16, max_value=131072, value=r.max_seq_len, step=64,
                              key="tr_seq" + k)
        seed = o3.number_input("Seed", min_value=0, max_value=2**31 - 1, value=r.seed, step=1, key="tr_seed" + k)
        eval_every = o4.number_input("Evaluate every (steps)", min_value=1, value=r.eval_every, step=10,
                                     key="tr_eval" + k, help="Short runs evaluate more often, so that they still "
                                     "show several evaluation points.")
        save_every = o4.number_input("Checkpoint every (steps)", min_value=1, value=r.save_every, step=10,
                                     key="tr_save" + k)
        lora = o1.checkbox("LoRA adapters", value=r.lora, key="tr_lora" + k)
        ckpt = o2.checkbox("Gradient checkpointing", value=r.grad_checkpointing, key="tr_ckpt" + k)
        compiled = o3.checkbox("Compile (torch.compile)", value=r.compile, key="tr_compile" + k,
                               help="Faster steps after a slower first one, which compiles the model "
                                    "(~30 s for the tiny model on 2 CPU cores)")
        report_to = o4.multiselect("Also log to", list(TRACKERS), placeholder="none", key="tr_report_to",
                                   help="Mirror the metrics and config into an experiment tracker: " +
                                        "; ".join(TRACKERS.values()) + ". The run folder keeps everything either way.")
    b1, b2, _ = st.columns([1, 1, 4])
    go_ = b1.button("Launch", type="primary", icon=":material/play_arrow:", key="tr_launch")
    check = b2.button("Estimate", icon=":material/calculate:", key="tr_check",
                      help="How long and how much memory, before launching")
    if check or go_:
        try:
            cfg = build_config(model, data, recipe=recipe, fmt=fmt, label=label,
                               minutes=budget if budget_kind == "minutes" else None,
                               epochs=budget if budget_kind == "epochs" else None, lr=lr, matrix_lr=matrix_lr,
                               batch_size=int(batch), grad_accum=int(accum), max_seq_len=int(seq), seed=int(seed),
                               eval_every=int(eval_every), save_every=int(save_every), lora=lora,
                               grad_checkpointing=ckpt, compile=compiled, report_to=tuple(report_to))
            with st.spinner("Checking the model and data..."):
                est = estimate(cfg) if check else None
                if est:
                    (st.info if est.fits else st.warning)(f"Estimate: {est.describe()}. {est.memory_note}")
                    if est.warning:
                        st.warning(est.warning, icon=":material/hourglass_empty:")
                if go_:
                    run_dir = start_training(cfg)
                    st.session_state["train_run_pick"] = run_dir.name  # the run just launched is the one shown
                    st.session_state.pop("tr_label", None)
                    st.session_state["train_msg"] = f"Launched {cfg.label or run_dir.name}."
                    st.rerun()
        except (ValueError, StudioError) as e:
            st.error(str(e))

# ------------------------------------------------------------------------------------------- queue
queued = [x for x in all_runs if x.status.state == "queued" and "waiting" in x.status.extra.get("message", "")]
if queued:
    st.info("Queue: " + ", ".join(f"**{x.name}** ({x.status.extra.get('message', 'waiting')})" for x in queued),
            icon=":material/hourglass_top:")

if not all_runs:
    st.info("No runs yet: launch one above (the tiny model on the sample trains on a CPU in minutes).")
    st.stop()

# --------------------------------------------------------------------------------------- live view
names = [x.name for x in all_runs]
titles = {x.name: snapshot(x).title for x in all_runs}
colors = run_colors(names[::-1])  # oldest first: a new run does not repaint the others
if st.session_state.get("train_run_pick") not in names:
    active = [x.name for x in all_runs if x.status.active]
    st.session_state["train_run_pick"] = active[0] if active else names[0]
shown = st.selectbox("Run", names, key="train_run_pick", format_func=titles.get)
run_dir = area("runs") / shown


@st.fragment(run_every=2)
def live_view(run_dir) -> None:
    key = f"reader:{run_dir}"
    if key not in st.session_state:
        st.session_state[key] = runs.MetricsReader(run_dir)
    reader: runs.MetricsReader = st.session_state[key]
    reader.read_new()  # only the lines written since the last read
    now = time.time()
    listed = runs.list_runs(area("runs"))  # one read per refresh: the header and the table agree
    views = {x.name: snapshot(x, now) for x in listed}
    v = views.get(run_dir.name)
    if v is None:
        st.rerun(scope="app")  # deleted meanwhile
    was = st.session_state.get(f"state:{run_dir}")
    st.session_state[f"state:{run_dir}"] = v.state
    cfg = runs.read_config(run_dir)
    head = st.columns([3, 1, 1, 1])
    head[0].markdown(f"### {v.title} {badge(v.state)}")
    head[0].caption(f"{v.model} on {v.data} · recipe {v.recipe}" + (f" · {v.message}" if v.message else ""))
    s = runs.read_status(run_dir)
    if s.active and s.state != "queued" and s.pid:
        if head[1].button("Stop", icon=":material/stop:", help="Save a checkpoint, then stop (resume later)",
                          key=f"stop_{run_dir.name}"):
            runs.request_stop(run_dir)
            st.toast("Stop requested: saving a checkpoint...")
        if head[2].button("Cancel", icon=":material/cancel:", help="Stop now, without a checkpoint",
                          key=f"cancel_{run_dir.name}"):
            runs.request_stop(run_dir, cancel=True)
    elif s.active:
        if head[1].button("Cancel", icon=":material/cancel:", key=f"cancelq_{run_dir.name}"):
            runs.request_stop(run_dir, cancel=True)
    elif s.state in ("stopped", "crashed", "failed"):
        if head[1].button("Resume", icon=":material/play_arrow:", help="Continue from the last checkpoint",
                          key=f"resume_{run_dir.name}"):
            try:
                resume_training(run_dir)
                st.session_state.pop(key, None)
                st.rerun(scope="app")
            except (ValueError, StudioError) as e:
                st.error(str(e))
    st.progress(v.progress, text=v.progress_text())
    if v.state in ("failed", "crashed"):
        st.error(v.error or f"The run {v.state}.")
    hist = reader.history
    if hist:
        smooth = st.columns([1, 3])[0].slider("Loss smoothing", 0.0, 0.99, 0.6, 0.01, key=f"smooth_{run_dir.name}")
        ready = [(k, title, series(hist, k)) for k, title in CHARTS]
        waiting = [title for _, title, (x, _) in ready if not x]
        ready = [c for c in ready if c[2][0]]
        for row in range(0, len(ready), 3):
            for col, (k, title, xy) in zip(st.columns(3), ready[row:row + 3]):
                with col:
                    st.plotly_chart(line_chart(title, {run_dir.name: xy}, colors, smooth if k == "loss" else 0.0,
                                               percent=k == "eval_accuracy"),
                                    key=f"chart_{k}", config={"displayModeBar": False})
        if waiting:
            st.caption("Not measured yet: " + ", ".join(waiting) + " (the run evaluates every "
                       f"{cfg.get('recipe', {}).get('eval_every', '?')} steps at most, and more often when it is short).")
    else:
        st.caption("No metrics yet: the worker is loading the model and data.")
    with st.expander("Log", expanded=v.state in ("failed", "crashed")):
        st.code(runs.log_tail(run_dir, 30) or "(empty)", language="text", wrap_lines=True)
    st.subheader("Runs")
    table = pd.DataFrame([table_row(views[n]) for n in views])
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"best eval acc": st.column_config.NumberColumn(format="percent"),
                                "progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                            format="percent")})
    if was is not None and was != v.state and s.terminal:
        st.rerun(scope="app")  # refresh the rest of the page once the run ends


live_view(run_dir)

# ------------------------------------------------------------------------------------------- runs
left, right = st.columns([3, 1])
with left:
    picked = st.multiselect("Compare runs", names, default=names[:2] if len(names) > 1 else names, key="cmp",
                            format_func=titles.get)
    if len(picked) >= 1:
        cols = st.columns(3)
        hists = {n: runs.read_metrics(area("runs") / n) for n in picked}
        for i, (k, title) in enumerate([("loss", "Training loss"), ("eval_loss", "Eval loss"),
                                        ("eval_accuracy", "Eval accuracy")]):
            with cols[i]:
                st.plotly_chart(line_chart(title, {n: series(h, k) for n, h in hists.items()}, colors,
                                           0.6 if k == "loss" else 0, percent=k == "eval_accuracy"),
                                key=f"cmp_{k}", config={"displayModeBar": False})
        if len(picked) >= 2:
            diff = config_diff({n: runs.read_config(area("runs") / n) for n in picked})
            if diff:
                st.caption("Settings that differ")
                st.dataframe(pd.DataFrame(diff).T.astype(str), width="stretch")
            else:
                st.caption("These runs have identical settings.")
with right:
    victim = st.selectbox("Delete a run", names, key="del_pick", format_func=titles.get, on_change=new_delete_round)
    sure_key = f"del_sure_{st.session_state.get('del_round', 0)}"
    sure = st.checkbox("Yes, delete it", key=sure_key, help="Its whole folder goes: metrics, checkpoints and model")
    if st.button("Delete", icon=":material/delete:", disabled=not sure, key="del_button"):
        try:
            runs.delete_run(area("runs") / victim)
            st.session_state["train_msg"] = f"Deleted {titles[victim]}."
            new_delete_round()  # the next deletion asks again
            st.rerun()
        except StudioError as e:
            st.error(str(e))
