"""Train page: launch a fine-tuning run in the background, watch it live, stop / cancel / resume it,
list, compare and delete runs. The run folder is the only channel to the worker (core.jobs.runs); this
file only lays out widgets and calls core.training.jobs / core.jobs.runs."""

from __future__ import annotations

import time

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import admin_ui
from core import access
from core.jobs import runs
from core.errors import StudioError
from core.models.defaults import default_base_model
from core.home import area
from core.data.prompts import FORMATS
from core.training.recipes import RECIPE_HELP, RECIPES, build_config, config_diff, suggested_format, suggested_recipe
from core.training.jobs import estimate, resume_training, start_training
from core.training.progress import run_colors, snapshot, table_row
from core.training import sweeps
from core.training.tracking import TRACKERS

st.set_page_config(page_title="Train · ScienceQA Tutor Studio", page_icon=":material/exercise:", layout="wide")
actor = admin_ui.actor()
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


def series(hist: list[dict], key: str) -> tuple[list, list]:
    pts = [(r["step"], r[key]) for r in hist if r.get(key) is not None and "resumed_from" not in r]
    if key == "peak_memory":
        pts = [(s, v / 2**20) for s, v in pts]
    return [p[0] for p in pts], [p[1] for p in pts]


def new_delete_round() -> None:
    """Any change of the run to delete asks for the confirmation again."""
    st.session_state["del_round"] = st.session_state.get("del_round", 0) + 1


# ------------------------------------------------------------------------------------------ sweeps
# A sweep: several settings (x seeds) trained one after another, each scored on the same held-out
# questions (core.training.sweeps). Its own launch form and view, apart from the single-run parts.

def sweep_form(models: dict[str, str]) -> None:
    """Launch a sweep: which formats and learning rates to try (any recipe field under Advanced)."""
    c1, c2, c3 = st.columns(3)
    model = c1.selectbox("Model", list(models), format_func=lambda n: models.get(n, n), key="sw_model")
    data = c2.selectbox("Questions", data_options(), key="sw_data")
    recipe = suggested_recipe(model)
    r = RECIPES[recipe]
    lr_field = "matrix_lr" if r.optimizer == "muon" else "lr"
    minutes = c3.number_input("Minutes per run", min_value=0.5, max_value=600.0, value=3.0, step=0.5, key="sw_min")
    formats = c1.multiselect("Prompt formats to try", list(FORMATS), default=[suggested_format(recipe, model)],
                             format_func=lambda f: FORMATS[f].label, key="sw_formats")
    base_lr = getattr(r, lr_field)
    lrs = c2.text_input("Learning rates to try", value=f"{base_lr:g}, {base_lr / 2:g}", key="sw_lrs",
                        help=f"Comma-separated values of the recipe's {lr_field}.")
    seeds = c3.number_input("Seeds per setting", min_value=1, max_value=5, value=1, step=1, key="sw_seeds",
                            help="Each setting trained this many times with different seeds: how much of a "
                                 "difference is luck.")
    extra, n_eval = "", 500
    if st.toggle("Advanced: any recipe setting, evaluation questions", key="sw_adv"):
        extra = st.text_area("More settings to vary, one per line (SETTING=V1,V2)", key="sw_extra",
                             placeholder="batch_size=16,32\nlora_r=8,16", help="Fields: " + ", ".join(sweeps.GRID_KEYS))
        n_eval = st.number_input("Held-out questions to score each run on", min_value=10, max_value=100000,
                                 value=500, step=50, key="sw_neval")
    grid_lines = [f"format={','.join(formats)}"] if formats else []
    grid_lines += [f"{lr_field}={lrs.replace(' ', '')}"] if lrs.strip() else []
    grid_lines += [line.strip() for line in extra.splitlines() if line.strip()]
    try:
        grid = sweeps.parse_grid(grid_lines)
        n_runs = len(sweeps.settings(grid)) * int(seeds)
        st.caption(f"{n_runs} runs of {minutes:g} min, one after another: about {n_runs * minutes:.0f} min of "
                   "training, plus a short evaluation after each.")
    except ValueError as e:
        grid = None
        st.caption(str(e))
    if st.button("Launch sweep", type="primary", icon=":material/play_arrow:", key="sw_launch", disabled=grid is None):
        try:
            with st.spinner("Checking every setting and fixing the evaluation questions..."):
                d = sweeps.create_sweep(model, data, grid, seeds=list(range(int(seeds))), minutes=minutes,
                                        recipe=recipe, eval_questions=int(n_eval), actor=actor)
                sweeps.start_sweep(d, actor=actor)
            st.session_state["sw_pick"] = d.name
            st.session_state["train_msg"] = f"Launched sweep {d.name}."
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
            x, y = series(runs.read_metrics(sweeps.member_dir(m["member"])), key)
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


def sweep_table(res: dict) -> pd.DataFrame:
    rows = []
    for r in res["settings"]:
        acc = r["accuracy"]
        rows.append({"": "★ best" if r["setting"] == res["best"] else "", "setting": r["setting"],
                     "accuracy %": None if acc is None else round(100 * acc, 1),
                     "95% CI": "–" if acc is None else f"{100 * r['ci_low']:.1f}–{100 * r['ci_high']:.1f}",
                     "runs scored": f"{r['evaluated']}/{r['seeds']}",
                     "eval loss": None if r["eval_loss"] is None else round(r["eval_loss"], 3),
                     "minutes": None if r["minutes"] is None else round(r["minutes"], 1),
                     "tokens/s": None if r["tokens_per_s"] is None else round(r["tokens_per_s"])})
    return pd.DataFrame(rows)


@st.fragment(run_every=3)
def sweep_view(sweep_dir) -> None:
    s = runs.read_status(sweep_dir)
    res = sweeps.results(sweep_dir)
    icon, color = BADGE.get(s.state, (":material/help:", "gray"))
    st.markdown(f":{color}-badge[{icon} {s.state}] **{sweep_dir.name}**: {s.step} of {s.total} runs scored"
                + (f" · {s.message}" if s.active and s.message else ""))
    if s.error:
        admin_ui.error(s.error, actor)
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
    st.caption(f"Every run is scored on the same {res['questions']} held-out questions ({res['how']}); chance "
               + ("–" if res["chance"] is None else f"{100 * res['chance']:.1f}%") + ". Accuracy pools the seeds "
               "of a setting; its 95% interval is Wilson's.")
    st.dataframe(sweep_table(res), hide_index=True, width="stretch", key="sw_table")
    if res["tests"]:
        sig = [t for t in res["tests"] if t["significant"]]
        st.markdown("**Which differences are real?** " + (
            "; ".join(f"{t['b']} vs {t['a']}: {100 * t['difference']:+.1f} points" for t in sig) if sig
            else "None of the differences is significant: with these questions they could be luck."))
        n_tests = len(res["tests"])
        with st.expander("The paired test" if n_tests == 1 else f"The {n_tests} paired tests (Holm-corrected)"):
            st.dataframe(pd.DataFrame([{"a": t["a"], "b": t["b"], "b - a (points)": round(100 * t["difference"], 1),
                                        "a better / b better": f"{t['a_better']} / {t['b_better']}",
                                        "p": t["p"], "p (Holm)": t["p_holm"], "significant": t["significant"]}
                                       for t in res["tests"]]), hide_index=True, width="stretch")
    colors = run_colors([r["setting"] for r in res["settings"]])
    sweep_curves(res, colors)
    d1, d2, _ = st.columns([1, 1, 3])
    d1.download_button("Table (CSV)", sweeps.to_csv(res), file_name=f"{sweep_dir.name}.csv", mime="text/csv",
                       icon=":material/download:", key="sw_csv")
    d2.download_button("Model-card section", sweeps.to_markdown(res), file_name=f"{sweep_dir.name}.md",
                       mime="text/markdown", icon=":material/description:", key="sw_md")
    if s.terminal and st.session_state.get("sw_seen_state", {}).get(sweep_dir.name) not in (None, s.state):
        st.session_state["sw_seen_state"][sweep_dir.name] = s.state
        st.rerun(scope="app")
    st.session_state.setdefault("sw_seen_state", {})[sweep_dir.name] = s.state


def sweep_section() -> None:
    all_sweeps = sweeps.list_sweeps()
    with st.expander("Compare settings: start a sweep", icon=":material/science:"):
        st.caption("Which learning rate or prompt format makes the best tutor? A sweep trains one run per setting, "
                   "one after another, scores each on the same held-out questions and says which differences are "
                   "more than luck.")
        sweep_form(model_options())
    if all_sweeps:
        st.subheader("Sweeps")
        names = [x.name for x in all_sweeps]
        if st.session_state.get("sw_pick") not in names:
            st.session_state["sw_pick"] = names[0]
        picked = st.selectbox("Sweep", names, key="sw_pick")
        sweep_view(area("sweeps") / picked)


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
            with st.spinner("Checking the model and data..."), access.acting(actor):
                est = estimate(cfg) if check else None
                if est:
                    (st.info if est.fits else st.warning)(f"Estimate: {est.describe()}. {est.memory_note}")
                    if est.warning:
                        st.warning(est.warning, icon=":material/hourglass_empty:")
                if go_:
                    run_dir = start_training(cfg, actor=actor)
                    st.session_state["train_run_pick"] = run_dir.name  # the run just launched is the one shown
                    st.session_state.pop("tr_label", None)
                    st.session_state["train_msg"] = f"Launched {cfg.label or run_dir.name}."
                    st.rerun()
        except (ValueError, StudioError) as e:
            admin_ui.error(e, actor)

sweep_section()

# ------------------------------------------------------------------------------------------- queue
queued = [x for x in all_runs if x.status.state == "queued" and "waiting" in x.status.message]
if queued:
    st.info("Queue: " + ", ".join(f"**{x.name}** ({x.status.message or 'waiting'})" for x in queued),
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
    try:
        cfg = runs.read_config(run_dir)
    except StudioError:
        cfg = {}  # a damaged config: the run is shown as damaged below
    head = st.columns([3, 1, 1, 1])
    head[0].markdown(f"### {v.title} {badge(v.state)}")
    head[0].caption(f"{access.shown(v.model, actor)} on {access.shown(v.data, actor)} · recipe {v.recipe}"
                    + (f" · {v.message}" if v.message else ""))
    s = runs.read_status(run_dir)
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
    st.progress(v.progress, text=v.progress_text())
    if v.state in ("failed", "crashed"):
        admin_ui.error(v.error or f"The run {v.state}.", actor)
    if s.damaged or reader.skipped:
        st.warning("This run's files are damaged: " + "; ".join(
            ([s.damaged] if s.damaged else []) + ([f"{reader.skipped} unreadable metrics lines skipped"]
                                                  if reader.skipped else [])) + ".", icon=":material/report:")
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
                       f"{(cfg.get('recipe') if isinstance(cfg.get('recipe'), dict) else {}).get('eval_every', '?')} "
                       "steps at most, and more often when it is short).")
    else:
        st.caption("No metrics yet: the worker is loading the model and data.")
    with st.expander("Log", expanded=v.state in ("failed", "crashed")):
        st.code(access.shown(runs.log_tail(run_dir, 30), actor) or "(empty)", language="text", wrap_lines=True)
    st.subheader("Runs")
    rows = [table_row(views[n]) for n in views]
    for row in rows:  # a visitor sees no server path in the model and data columns
        row["model"], row["data"] = access.shown(str(row["model"]), actor), access.shown(str(row["data"]), actor)
    table = pd.DataFrame(rows)
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
                                           0.6 if k == "loss" else 0, percent=k == "eval_accuracy", names=titles),
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
    if st.button("Delete", icon=":material/delete:", disabled=not sure, key="del_button"):
        try:
            runs.delete_run(area("runs") / victim, actor=actor)
            st.session_state["train_msg"] = f"Deleted {titles[victim]}."
            new_delete_round()  # the next deletion asks again
            st.rerun()
        except StudioError as e:
            admin_ui.error(e, actor)
