"""Train page: launch a fine-tuning run in the background, watch it live, stop / cancel / resume it,
list, compare and delete runs. The run folder is the only channel to the worker (core.jobs.runs); this
file only lays out widgets and calls core.training.jobs / core.jobs.runs."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.jobs import runs
from core.errors import StudioError
from core.home import area
from core.data.prompts import FORMATS
from core.training.recipes import RECIPE_HELP, RECIPES, build_config, config_diff, suggested_format, suggested_recipe
from core.training.jobs import estimate, resume_training, start_training

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


def fmt_time(s: float | None) -> str:
    if s is None:
        return "–"
    s = int(s)
    return f"{s // 3600}h {s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"


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


def line_chart(title: str, series: dict[str, tuple[list, list]], smooth: float = 0.0) -> go.Figure:
    fig = go.Figure()
    for name, (x, y) in series.items():
        if smooth > 0 and y:
            sm, acc = [], y[0]
            for v in y:
                acc = smooth * acc + (1 - smooth) * v
                sm.append(acc)
            fig.add_scatter(x=x, y=y, mode="lines", name=f"{name} (raw)", opacity=0.25, showlegend=False)
            y = sm
        fig.add_scatter(x=x, y=y, mode="lines+markers" if len(x) < 30 else "lines", name=name)
    fig.update_layout(title=title, height=260, margin=dict(l=10, r=10, t=40, b=10), xaxis_title="step",
                      showlegend=len(series) > 1)
    return fig


def series(hist: list[dict], key: str) -> tuple[list, list]:
    pts = [(r["step"], r[key]) for r in hist if r.get(key) is not None and "resumed_from" not in r]
    if key == "peak_memory":
        pts = [(s, v / 2**20) for s, v in pts]
    return [p[0] for p in pts], [p[1] for p in pts]


# --------------------------------------------------------------------------------------- launch form
st.title(":material/exercise: Train")
st.caption("Fine-tune a model on ScienceQA in the background. Training keeps going if you close this page; "
           "one job uses the device at a time, others wait in the queue.")
if msg := st.session_state.pop("train_msg", None):
    st.success(msg)

all_runs = runs.list_runs(area("runs"))
with st.expander("Launch a new run", expanded=not any(r.status.active for r in all_runs)):
    models = model_options()
    c1, c2, c3 = st.columns(3)
    model = c1.selectbox("Model", list(models) + ["(a local folder)"],
                         format_func=lambda n: models.get(n, n), key="tr_model")
    if model == "(a local folder)":
        model = c1.text_input("Model folder", placeholder="/path/to/model", key="tr_model_path").strip()
    data = c2.selectbox("Data", data_options() + ["(a file or folder)"], key="tr_data")
    if data == "(a file or folder)":
        data = c2.text_input("Data path", placeholder="/path/to/questions.jsonl", key="tr_data_path").strip()
    recipe_names = list(RECIPES)
    recipe = c1.selectbox("Recipe", recipe_names, index=recipe_names.index(suggested_recipe(model)),
                          format_func=lambda r: f"{r} — {RECIPE_HELP[r]}", key=f"tr_recipe_{model}")
    fmt = c3.selectbox("Prompt format", list(FORMATS), index=list(FORMATS).index(suggested_format(recipe)),
                       format_func=lambda f: FORMATS[f].label, key=f"tr_format_{recipe}")
    r = RECIPES[recipe]
    budget_kind = c2.radio("Budget", ["minutes", "epochs"], horizontal=True, key="tr_budget")
    budget = c3.number_input(f"Train for ({budget_kind})", min_value=0.1, max_value=10000.0, step=1.0,
                             value=5.0 if budget_kind == "minutes" else float(r.epochs), key=f"tr_b_{budget_kind}_{recipe}")
    with st.form(f"launch_{recipe}"):
        o1, o2, o3, o4 = st.columns(4)
        lr = o1.number_input("Learning rate (AdamW)", min_value=1e-7, max_value=1.0, value=r.lr, format="%.1e")
        matrix_lr = o1.number_input("Matrix lr (Muon)", min_value=1e-7, max_value=1.0, value=r.matrix_lr,
                                    format="%.1e", disabled=r.optimizer != "muon")
        batch = o2.number_input("Batch size", min_value=1, max_value=1024, value=r.batch_size, step=1)
        accum = o2.number_input("Gradient accumulation", min_value=1, max_value=1024, value=r.grad_accum, step=1)
        seq = o3.number_input("Max sequence length", min_value=16, max_value=131072, value=r.max_seq_len, step=64)
        seed = o3.number_input("Seed", min_value=0, max_value=2**31 - 1, value=r.seed, step=1)
        eval_every = o4.number_input("Evaluate every (steps)", min_value=1, value=r.eval_every, step=10)
        save_every = o4.number_input("Checkpoint every (steps)", min_value=1, value=r.save_every, step=10)
        lora = o1.checkbox("LoRA adapters", value=r.lora)
        ckpt = o2.checkbox("Gradient checkpointing", value=r.grad_checkpointing)
        compiled = o3.checkbox("Compile (torch.compile)", value=r.compile,
                               help="Faster steps after a slower first one, which compiles the model "
                                    "(~30 s for the tiny model on 2 CPU cores)")
        b1, b2, _ = st.columns([1.6, 1, 3.4])
        check = b1.form_submit_button("Check & estimate", icon=":material/calculate:")
        go_ = b2.form_submit_button("Launch", type="primary", icon=":material/play_arrow:")
    if check or go_:
        try:
            cfg = build_config(model, data, recipe=recipe, fmt=fmt,
                               minutes=budget if budget_kind == "minutes" else None,
                               epochs=budget if budget_kind == "epochs" else None, lr=lr, matrix_lr=matrix_lr,
                               batch_size=int(batch), grad_accum=int(accum), max_seq_len=int(seq), seed=int(seed),
                               eval_every=int(eval_every), save_every=int(save_every), lora=lora,
                               grad_checkpointing=ckpt, compile=compiled)
            with st.spinner("Checking the model and data..."):
                est = estimate(cfg) if check else None
                if est:
                    (st.info if est.fits else st.warning)(f"Estimate: {est.describe()}. {est.memory_note}")
                if go_:
                    run_dir = start_training(cfg)
                    st.session_state["train_run"] = run_dir.name
                    st.session_state["train_msg"] = f"Launched {run_dir.name}."
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
default = st.session_state.get("train_run")
if default not in names:
    active = [x.name for x in all_runs if x.status.active]
    default = active[0] if active else names[0]
shown = st.selectbox("Run", names, index=names.index(default), key="train_run_pick")
st.session_state["train_run"] = shown
run_dir = area("runs") / shown


@st.fragment(run_every=2)
def live_view(run_dir) -> None:
    key = f"reader:{run_dir}"
    if key not in st.session_state:
        st.session_state[key] = runs.MetricsReader(run_dir)
    reader: runs.MetricsReader = st.session_state[key]
    reader.read_new()  # only the lines written since the last read
    s = runs.read_status(run_dir)
    was = st.session_state.get(f"state:{run_dir}")
    st.session_state[f"state:{run_dir}"] = s.state
    cfg = runs.read_config(run_dir)
    head = st.columns([3, 1, 1, 1])
    head[0].markdown(f"### {run_dir.name} {badge(s.state)}")
    head[0].caption(f"{cfg.get('model')} on {cfg.get('data')} · recipe {cfg.get('recipe', {}).get('name')} · "
                    f"{s.extra.get('message', '')}")
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
    frac = s.extra.get("progress") or (s.step / s.total if s.total else 0.0)
    eta = s.extra.get("eta") if s.active else None
    st.progress(min(1.0, float(frac)), text=f"step {s.step}" + (f" of ~{s.total}" if s.total else "") +
                f" · {100 * frac:.0f}% · elapsed {fmt_time(s.extra.get('elapsed', s.duration))}" + (f" · ETA {fmt_time(eta)}" if eta else ""))
    if s.state in ("failed", "crashed"):
        st.error(s.error or f"The run {s.state}.")
    hist = reader.history
    if hist:
        smooth = st.columns([1, 3])[0].slider("Loss smoothing", 0.0, 0.99, 0.6, 0.01, key=f"smooth_{run_dir.name}")
        ready = [(k, title, series(hist, k)) for k, title in CHARTS]
        waiting = [title for _, title, (x, _) in ready if not x]
        ready = [c for c in ready if c[2][0]]
        for row in range(0, len(ready), 3):
            for col, (k, title, xy) in zip(st.columns(3), ready[row:row + 3]):
                with col:
                    st.plotly_chart(line_chart(title, {k: xy}, smooth if k == "loss" else 0.0), key=f"chart_{k}",
                                    config={"displayModeBar": False})
        if waiting:
            st.caption("Not measured yet: " + ", ".join(waiting) + " (evaluation runs every "
                       f"{cfg.get('recipe', {}).get('eval_every', '?')} steps).")
    else:
        st.caption("No metrics yet: the worker is loading the model and data.")
    with st.expander("Log", expanded=s.state in ("failed", "crashed")):
        st.code(runs.log_tail(run_dir, 30) or "(empty)", language="text")
    if was is not None and was != s.state and s.terminal:
        st.rerun(scope="app")  # refresh the runs table once the run ends


live_view(run_dir)

# ------------------------------------------------------------------------------------------- runs
st.subheader("Runs")
table = pd.DataFrame([{
    "run": x.name, "state": x.status.state, "model": x.config.get("model"), "data": x.config.get("data"),
    "recipe": x.config.get("recipe", {}).get("name"), "step": x.status.step,
    "best eval loss": x.status.extra.get("best_eval_loss"), "best eval acc": x.status.extra.get("best_eval_accuracy"),
    "duration": fmt_time(x.status.duration), "model location": str(x.model_path) if x.model_path else "–",
} for x in all_runs])
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"best eval acc": st.column_config.NumberColumn(format="percent")})

left, right = st.columns([3, 1])
with left:
    picked = st.multiselect("Compare runs", names, default=names[:2] if len(names) > 1 else names, key="cmp")
    if len(picked) >= 1:
        cols = st.columns(3)
        hists = {n: runs.read_metrics(area("runs") / n) for n in picked}
        for i, (k, title) in enumerate([("loss", "Training loss"), ("eval_loss", "Eval loss"),
                                        ("eval_accuracy", "Eval accuracy")]):
            with cols[i]:
                st.plotly_chart(line_chart(title, {n: series(h, k) for n, h in hists.items()}, 0.6 if k == "loss" else 0),
                                key=f"cmp_{k}", config={"displayModeBar": False})
        if len(picked) >= 2:
            diff = config_diff({n: runs.read_config(area("runs") / n) for n in picked})
            if diff:
                st.caption("Settings that differ")
                st.dataframe(pd.DataFrame(diff).T.astype(str), width="stretch")
            else:
                st.caption("These runs have identical settings.")
with right:
    victim = st.selectbox("Delete a run", names, key="del_pick")
    sure = st.checkbox("Yes, delete it", key="del_sure", help="Its whole folder goes: metrics, checkpoints and model")
    if st.button("Delete", icon=":material/delete:", disabled=not sure):
        try:
            runs.delete_run(area("runs") / victim)
            st.session_state["train_msg"] = f"Deleted {victim}."
            st.rerun()
        except StudioError as e:
            st.error(str(e))
