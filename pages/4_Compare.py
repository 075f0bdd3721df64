"""Compare page: two models on the same questions (default: the pretrained SmolLM2 preset and the newest run
trained from it, else the newest run and its base; core.models.defaults), or many models on one chart
("Many models": accuracy with intervals per model and per
leaderboard column, chance, the published rows, paired tests against a chosen reference). Evaluations run as background jobs (core.evaluation.jobs) and are cached; the page shows
their progress live, then accuracies with intervals, McNemar's test, the leaderboard's columns, the
flips, and one question answered by both models side by side. Logic lives in core.evaluation.scoring,
core.evaluation.jobs and core.evaluation.reports; this file lays out widgets."""

from __future__ import annotations

import json
from dataclasses import asdict

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import admin_ui
from core.jobs import runs
from core.models.catalogue import offered_models
from core.models.obtain import resolve_model
from core.models.defaults import compare_pair
from core import access
from core.errors import StudioError
from core.evaluation.jobs import (EvalRequest, find_cached, find_running, load_results, model_identity, start_eval,
                                  time_estimate)
from core.data.prompts import FORMATS, to_messages
from core.evaluation.capability import default_format, trained_format
from core.data.records import LEADERBOARD_COLUMNS, LETTERS, Question
from core.evaluation.reports import (compare, headline, leaderboard, model_warnings, pairwise_tests, per_question,
                                     summarize, to_csv, to_json, to_markdown)
from core.training.progress import format_duration
from core.data.sources import load_source, source_splits
from core.data.subsets import list_subsets

st.set_page_config(page_title="Compare · ScienceQA Tutor Studio", page_icon=":material/compare:", layout="wide")
actor = admin_ui.actor()
METHODS = {"categorical": "Categorical (letter logits, deterministic)", "generative": "Generative (paper's extraction)",
           "plan": "The plan's metric (INVALID, for demonstration)"}
METHODS = {"categorical": "Which choice the model finds most likely", "generative": "What the model writes",
           "plan": "A flawed check, to see why it misleads"}
MODEL_COLORS = ("#4C78A8", "#F58518")  # base, fine-tuned: the same in every chart of the page
METHOD_HELP = {"categorical": "Reads the model's probability of each answer letter: fast and the same every time.",
               "generative": "The model writes its answer and the paper's rules read the letter from it: slower.",
               "plan": "Looks for the letter in the first 100 characters of the text, prompt included: the prompt "
                       "alone scores well, so this one is wrong on purpose."}


@st.cache_resource(max_entries=2, show_spinner="Loading model…")
def load(name: str, identity: str):
    from core.evaluation.jobs import load_for_eval

    return load_for_eval(name)


@st.cache_data(show_spinner=False)
def results(run_dir: str, mtime: float):
    return load_results(run_dir)


def choice_label(i: int, text: str, width: int = 16, lines: int = 3) -> str:
    """'(B) first words<br>of the choice…': wrapped, never cut to the same text as another choice."""
    import textwrap

    parts = textwrap.wrap(text, width) or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] += "…"
    return f"({LETTERS[i]}) " + "<br>".join(parts)


def model_picker(label: str, names: list[str], default: str, key: str) -> str:
    options = names + ([default] if default not in names else []) + ["other…"]
    choice = st.selectbox(label, options, index=options.index(default), key=key)
    if choice == "other…":
        return st.text_input(f"{label}: Hub id or folder", key=f"{key}_other").strip()
    return choice


# --- many models on one chart ---------------------------------------------------------------------
# N models on the same questions (core.evaluation.reports.leaderboard / pairwise_tests): accuracy with its
# interval per model and per leaderboard column, chance, the published rows, paired tests against a reference.

def many_models_view(picked: list[str], reference: str, data: str, split: str | None, limit: int | None,
                     method: str, fmt: str) -> None:
    if len(picked) < 2:
        st.info("Pick at least two models in the sidebar.")
        return
    try:
        reqs = {m: EvalRequest(model=m, data=data, split=split, method=method, fmt=fmt, limit=limit) for m in picked}
        questions = load_source(data, split, actor=actor)[:limit]
        if not questions:
            raise StudioError("The selection is empty: pick another split or source.")
        done = {m: find_cached(r, questions) for m, r in reqs.items()}
    except (StudioError, ValueError) as e:
        admin_ui.error(e, actor)
        return
    jobs = st.session_state.setdefault("jobs", {})
    keys = {m: json.dumps(asdict(r), sort_keys=True) for m, r in reqs.items()}
    for m, r in reqs.items():
        if done[m] is None and keys[m] not in jobs and (running := find_running(r, questions)) is not None:
            jobs[keys[m]] = str(running)
    missing = [m for m in picked if done[m] is None]
    if missing and st.button(f"Evaluate {len(missing)} model{'s' if len(missing) > 1 else ''}", type="primary",
                             icon=":material/play_arrow:", key="many_go"):
        try:
            for m in missing:
                if keys[m] not in jobs or runs.read_status(jobs[keys[m]]).terminal:
                    jobs[keys[m]] = str(start_eval(reqs[m], questions, actor=actor).run_dir)
        except StudioError as e:
            admin_ui.error(e, actor)
    if missing:
        many_progress([(m, keys[m]) for m in missing])
        st.caption(f"Evaluated so far: {len(picked) - len(missing)} of {len(picked)} models on {len(questions):,} "
                   "questions (each one runs after the other, on the device).")
        return
    res = {m: results(str(d), (d / "results.json").stat().st_mtime)[0] for m, d in done.items()}
    try:
        board = leaderboard(res, split)
        tests = pairwise_tests({m: per_question([r]) for m, r in res.items()}, reference=reference)
    except StudioError as e:
        admin_ui.error(e, actor)
        return
    rows = []
    for m, s in board["models"].items():
        row = {"model": m, "accuracy %": round(100 * s["accuracy"], 2),
               "95% CI": f"{100 * s['ci'][0]:.1f}–{100 * s['ci'][1]:.1f}"}
        row.update({c: None if s["columns"][c]["accuracy"] is None else round(100 * s["columns"][c]["accuracy"], 1)
                    for c in LEADERBOARD_COLUMNS})
        rows.append(row)
    rows.append({"model": "chance (1 / choices)", "accuracy %": round(100 * board["chance"], 2), "95% CI": ""})
    for r in board["reference"] or []:
        rows.append({"model": f"published: {r['name']}", "accuracy %": round(100 * r["accuracy"], 2), "95% CI": ""})
    st.markdown(f"**{len(picked)} models on the same {board['n']:,} questions**"
                + ("" if board["reference"] else " (published rows appear for the whole official test split)"))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="many_table")
    names_ = list(board["models"])
    accs = [100 * board["models"][m]["accuracy"] for m in names_]
    fig = go.Figure(go.Bar(x=names_, y=accs, error_y=dict(
        type="data", symmetric=False, array=[100 * board["models"][m]["ci"][1] - a for m, a in zip(names_, accs)],
        arrayminus=[a - 100 * board["models"][m]["ci"][0] for m, a in zip(names_, accs)])))
    fig.add_hline(y=100 * board["chance"], line_dash="dot", annotation_text="chance")
    for r in board["reference"] or []:
        fig.add_hline(y=100 * r["accuracy"], line_dash="dash", line_color="gray", annotation_text=r["name"])
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=30, b=10), yaxis=dict(title="accuracy %", range=[0, 100]),
                      title="Accuracy with 95% intervals")
    st.plotly_chart(fig, width="stretch", key="many_chart")
    st.markdown(f"**Against {reference}** (paired McNemar tests on the shared questions, Holm-corrected for "
                f"{len(tests)} comparisons)")
    st.dataframe(pd.DataFrame([{"model": t["b"], f"minus {reference} (points)": round(100 * t["difference"], 1),
                                "better / worse questions": f"{t['b_better']} / {t['a_better']}", "p": t["p"],
                                "p (Holm)": t["p_holm"], "significant": t["significant"]} for t in tests]),
                 hide_index=True, width="stretch", key="many_tests")


@st.fragment(run_every=2)
def many_progress(pending: list[tuple[str, str]]) -> None:
    jobs = st.session_state.get("jobs", {})
    for m, k in pending:
        if k not in jobs:
            st.caption(f"{m}: not evaluated yet")
            continue
        s = runs.read_status(jobs[k])
        if s.state == "done":
            st.rerun(scope="app")
        elif s.terminal:
            admin_ui.error(f"{m}: evaluation {s.state}. {s.error}", actor)
        else:
            st.progress(min(1.0, s.step / s.total) if s.total else 0.0, text=f"{m}: {s.message or s.state}")


def many_models_picker(names: list[str], base: str) -> tuple[list[str], str]:
    """The models to put on one chart (default: the base model and the latest runs) and the reference."""
    run_names = [n for n in names if n.startswith("run:")][:4]
    default = list(dict.fromkeys([base] + run_names))
    picked = st.multiselect("Models", names, default=[n for n in default if n in names], key="many_models",
                            help="Every model is scored on the same questions.")
    reference = st.selectbox("Reference (each model is tested against it)", picked or [base], key="many_ref")
    return picked, reference


st.title(":material/compare: Compare")
st.caption("Models on the same questions: accuracy with 95% intervals, the leaderboard's columns and paired tests; "
           "two models side by side (the questions that flipped, both answering one question) or many on one chart.")
names = offered_models(actor)
base_default, tuned_default = compare_pair(names)  # the pretrained preset vs the newest run trained from it
view = st.segmented_control("How many models", ["Two models", "Many models"], default="Two models",
                            key="cmp_view", label_visibility="collapsed") or "Two models"
with st.sidebar:
    st.header("Models")
    if view == "Many models":
        many_picked, many_ref = many_models_picker(names, base_default)
        model_a = many_ref
        model_b = next((m for m in many_picked if m != many_ref), many_ref)
    else:
        model_a = model_picker("Base model", names, base_default, "model_a")
        model_b = model_picker("Fine-tuned model", names, tuned_default, "model_b")
    st.header("Questions")
    sources = ["sample"] + [f"subset:{s.name}" for s in list_subsets()] + (["local…"] if actor.trusted else [])
    data = st.selectbox("Source", sources, key="data")
    if data == "local…":
        data = st.text_input("File or folder", key="data_path").strip()
    try:
        with access.acting(actor):
            splits = source_splits(data) if data else []
    except StudioError as e:
        admin_ui.error(e, actor)
        st.stop()
    split = st.selectbox("Split", splits or ["(all)"], index=splits.index("test") if "test" in splits else 0,
                         key="split")
    limit = st.number_input("At most this many questions (0 = the whole split)", 0, 100_000, 0, step=50, key="limit",
                            help="Fewer questions are quicker, but the comparison is less sure.")
    method = st.radio("How answers are scored", list(METHODS), format_func=METHODS.get, key="method",
                      captions=[METHOD_HELP[m] for m in METHODS])
    trained = default_format(model_b) if model_b and trained_format(model_b) else default_format(model_a)
    fmt = st.selectbox("Prompt format", list(FORMATS), index=list(FORMATS).index(trained),
                       format_func=lambda f: FORMATS[f].label, key=f"fmt:{model_a}:{model_b}",
                       help="Starts at the format the fine-tuned model was trained with.")

if view == "Many models":
    if data:
        many_models_view(many_picked, many_ref, data, None if split == "(all)" else split, int(limit) or None,
                         method, fmt)
    st.stop()
if not (model_a and model_b and data):
    st.info("Pick two models and a data source in the sidebar.")
    st.stop()
try:
    reqs = [EvalRequest(model=m, data=data, split=None if split == "(all)" else split, method=method, fmt=fmt,
                        limit=int(limit) or None) for m in (model_a, model_b)]
    questions = load_source(data, reqs[0].split, actor=actor)[: reqs[0].limit]
    if not questions:
        raise StudioError("The selection is empty: pick another split or source.")
    done = [find_cached(r, questions) for r in reqs]
except (StudioError, ValueError) as e:
    admin_ui.error(e, actor)
    st.stop()
by_pid = {q.pid: q for q in questions}
if method == "plan":
    from core.evaluation.scoring import plan_prompt_only_accuracy

    st.warning("This check (the project plan's metric) is **invalid**: it scores the decoded prompt, whose 'A.'/'B.' lines put answer "
               "letters within the first 100 characters. On these questions the prompt alone, before any model "
               f"writes a token, scores **{100 * plan_prompt_only_accuracy(questions):.1f}%**. It is here to show "
               "why it misleads.", icon=":material/warning:")

jobs = st.session_state.setdefault("jobs", {})  # request (as JSON) -> job folder
keys = [json.dumps(asdict(r), sort_keys=True) for r in reqs]
for r, k, hit in zip(reqs, keys, done):
    if hit is None and k not in jobs and (running := find_running(r, questions)) is not None:
        jobs[k] = str(running)  # re-attach after a reload
uncached = st.session_state.setdefault("evaluated_this_visit", set())  # keys not cached when first seen here
uncached.update(k for k, hit in zip(keys, done) if hit is None)
if all(done):
    if not uncached & set(keys):
        st.caption(f":material/bolt: Cached results for {len(questions):,} questions (evaluated before this visit).")
else:
    todo = sum(hit is None for hit in done)
    st.caption(f"{len(questions):,} questions; evaluating {'both models' if todo == 2 else 'one model'} takes "
               f"about {format_duration(time_estimate(len(questions), method, todo))} here (rough).")
if not all(done) and st.button("Evaluate both", type="primary", icon=":material/play_arrow:"):
    try:
        for r, k, hit in zip(reqs, keys, done):
            if hit is None:
                jobs[k] = str(start_eval(r, questions, actor=actor).run_dir)
    except StudioError as e:
        admin_ui.error(e, actor)


@st.fragment(run_every=2 if any(runs.read_status(jobs[k]).active for k in keys if k in jobs) else None)
def progress() -> None:
    for req, k, hit in zip(reqs, keys, done):
        run_dir = jobs.get(k)
        if hit is not None or run_dir is None:
            continue
        status = runs.read_status(run_dir)
        if status.state == "done" and find_cached(req, questions) is not None:
            st.rerun()  # the whole page: the results are ready
        elif status.state == "done":
            st.warning(f"{req.model}: the evaluation finished, but the model or data changed since; evaluate again.")
        elif status.state in ("failed", "crashed", "stopped"):
            admin_ui.error(f"{req.model}: evaluation {status.state}. {status.error}", actor)
        else:
            frac = status.step / status.total if status.total else 0.0
            bar, stop = st.columns([6, 1])
            bar.progress(min(1.0, max(0.0, frac)), text=f"{req.model}: {status.message or status.state}")
            if stop.button("Stop", key=f"stop_{run_dir}", icon=":material/stop:"):
                try:
                    runs.request_stop(run_dir, actor=actor)
                except StudioError as e:
                    admin_ui.error(e, actor)


progress()
if not all(done):
    st.stop()

# --- results --------------------------------------------------------------------------------------
(res_a, _), (res_b, _) = (results(str(d), (d / "results.json").stat().st_mtime) for d in done)
try:
    cmp = compare(res_a, res_b)
except StudioError as e:
    admin_ui.error(e, actor)
    st.stop()
sa, sb = summarize(res_a, reqs[0].split), summarize(res_b, reqs[0].split)
st.markdown(f"#### {headline(cmp, base=f'its base ({model_a})', tuned=f'The fine-tuned model ({model_b})')}")
c = st.columns(3)
for col, label, s, res in ((c[0], model_a, sa, res_a), (c[1], model_b, sb, res_b)):
    col.metric(f"{label}", f"{100 * s['accuracy']:.1f}%",
               help=f"95% CI {100 * s['ci'][0]:.1f}–{100 * s['ci'][1]:.1f}%, n = {s['n']}")
    col.caption(f"right on {s['correct']:,} of {s['n']:,} · chance {100 * s['chance']:.0f}%")
    for note in model_warnings(res):
        col.warning(note, icon=":material/warning:")
c[2].metric("Chance (guessing)", f"{100 * sa['chance']:.1f}%", help="mean of 1 / number of choices on these questions")
with st.expander("The statistics behind the sentence"):
    lo, hi = cmp["difference_ci"]
    s1, s2, s3 = st.columns(3)
    s1.metric("Difference", f"{100 * cmp['difference']:+.1f} pts", help="fine-tuned minus base, paired")
    s1.caption(f"95% CI {100 * lo:+.1f} to {100 * hi:+.1f} pts (Newcombe, paired)")
    s2.metric("McNemar p", f"{cmp['mcnemar_p']:.3g}", help=f"{cmp['mcnemar_test']} test on the discordant pairs")
    s2.caption(f"{len(cmp['gained'])} gained · {len(cmp['lost'])} lost")
    s3.caption(" · ".join(f"{name}: 95% CI {100 * s['ci'][0]:.1f}–{100 * s['ci'][1]:.1f}%"
                          for name, s in ((model_a, sa), (model_b, sb))))
if method == "generative":
    st.caption(" · ".join(f"{name}: {s['format_failures']} replies without a valid answer; the paper's accuracy "
                          f"(random valid choice instead) {100 * s['fallback_accuracy']:.1f}%"
                          for name, s in ((model_a, sa), (model_b, sb))))
if res_a.truncated or res_b.truncated:
    st.caption(f"{max(res_a.truncated, res_b.truncated)} prompts were longer than a model's context and were cut.")

fig = go.Figure([go.Bar(name=name, x=LEADERBOARD_COLUMNS,
                        y=[100 * (s["columns"][k]["accuracy"] or 0) for k in LEADERBOARD_COLUMNS],
                        text=[f"n={s['columns'][k]['n']}" for k in LEADERBOARD_COLUMNS], marker_color=color)
                 for name, s, color in ((model_a, sa, MODEL_COLORS[0]), (model_b, sb, MODEL_COLORS[1]))])
fig.update_layout(barmode="group", height=340, margin=dict(l=10, r=10, t=30, b=10), yaxis_title="accuracy %",
                  yaxis_range=[0, 100], title="The leaderboard's columns",
                  legend=dict(orientation="h", yanchor="top", y=-0.12, x=0, xanchor="left"))
fig.add_hline(y=100 * sa["chance"], line_dash="dot", line_color="#888", annotation_text="chance",
              annotation_position="top left")
st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})
if sa.get("reference"):
    st.caption("Published on the full official test split: " + " · ".join(
        f"{r['name']} {100 * r['accuracy']:.2f}%" for r in sa["reference"]))

tabs = st.tabs([":material/swap_vert: Flips", ":material/topic: By topic", ":material/download: Export"])
with tabs[0]:
    pred_a = {p.pid: p for p in res_a.predictions}
    pred_b = {p.pid: p for p in res_b.predictions}
    flips = pd.DataFrame([{"pid": pid, "change": kind, "gold": LETTERS[by_pid[pid].answer] if pid in by_pid else "",
                           "base": LETTERS[pred_a[pid].pred] if pred_a[pid].pred is not None else "–",
                           "tuned": LETTERS[pred_b[pid].pred] if pred_b[pid].pred is not None else "–",
                           "question": by_pid[pid].question if pid in by_pid else ""}
                          for kind, pids in (("gained", cmp["gained"]), ("lost", cmp["lost"])) for pid in pids],
                         columns=["pid", "change", "gold", "base", "tuned", "question"])
    st.caption("gained: base wrong → fine-tuned right; lost: base right → fine-tuned wrong. Pick a row to open it.")
    event = st.dataframe(flips, hide_index=True, on_select="rerun", selection_mode="single-row", key="flips",
                         height=240)
    picked = flips.iloc[event.selection.rows[0]]["pid"] if event.selection.rows else None
    if picked is not None and picked != st.session_state.get("flip_seen"):
        # open the picked question below (the widgets it drives are created further down this script)
        st.session_state.update(flip_seen=picked, q_pid=picked, q_mode="from the data")
with tabs[1]:
    topics = sorted(set(sa["topics"]) | set(sb["topics"]))
    st.dataframe(pd.DataFrame([{"topic": t, "questions": sa["topics"][t]["n"],
                                model_a: sa["topics"][t]["accuracy"], model_b: sb["topics"].get(t, {}).get("accuracy")}
                               for t in topics]), hide_index=True,
                 column_config={m: st.column_config.NumberColumn(format="percent") for m in (model_a, model_b)})
with tabs[2]:
    for i, (col, name, res, s) in enumerate(zip(st.columns(2), (model_a, model_b), (res_a, res_b), (sa, sb))):
        col.markdown(f"**{name}**")
        col.download_button("JSON", to_json(res, reqs[0].split), f"eval-{res.method}.json", key=f"json{i}")
        col.download_button("CSV", to_csv(res), f"eval-{res.method}.csv", key=f"csv{i}")
        col.download_button("Model-card section", to_markdown(s), "eval.md", key=f"md{i}")

# --- one question, both models --------------------------------------------------------------------
st.subheader("One question, both models")
mode = st.radio("Question", ["from the data", "typed in"], horizontal=True, key="q_mode")
if mode == "from the data":
    if st.session_state.get("q_pid") not in by_pid:
        st.session_state.pop("q_pid", None)  # the data changed under the widget
    pid = st.selectbox("Question id", list(by_pid), key="q_pid")
    q = by_pid[pid]
    said = [f"**{name}** answered {LETTERS[p.pred] if p.pred is not None else 'nothing valid'} "
            f"({'right' if p.correct else 'wrong'})"
            for name, p in ((model_a, pred_a.get(pid)), (model_b, pred_b.get(pid))) if p is not None]
    st.caption("In the evaluation: " + " · ".join(said))
else:
    text = st.text_input("Question", "Which of these is a mammal?", key="q_text")
    choices = [c.strip() for c in st.text_area("Choices (one a line)", "whale\nshark\ntrout", key="q_choices")
               .splitlines() if c.strip()]
    if len(choices) < 2 or len(choices) > len(LETTERS):
        st.error(f"Give between 2 and {len(LETTERS)} choices, one a line.")
        st.stop()
    answer = st.selectbox("Correct choice", range(len(choices)), format_func=lambda i: choices[i], key="q_answer")
    q = Question(pid="typed", question=text, choices=choices, answer=answer)
st.markdown(f"**{q.question}**")
if q.hint.strip():
    st.info(q.hint)
st.markdown("  \n".join(f"{':green[**✓**]' if i == q.answer else '◦'} ({LETTERS[i]}) {c}"
                        for i, c in enumerate(q.choices)))
if q.lecture or q.solution:
    with st.expander("Explanation"):
        st.markdown(f"{q.lecture}\n\n{q.solution}".strip())
try:
    loaded = [load(m, model_identity(resolve_model(m, actor=actor))) for m in (model_a, model_b)]
    from core.evaluation.scoring import choice_probabilities

    probs = [choice_probabilities(lm, q, fmt) for lm in loaded]
except StudioError as e:
    admin_ui.error(e, actor)
    st.stop()
labels = [choice_label(i, c) for i, c in enumerate(q.choices)]  # the letter keeps labels apart
bars = go.Figure([go.Bar(name=name, x=labels, y=p, hovertext=q.choices, marker_color=color)
                  for name, p, color in zip((model_a, model_b), probs, MODEL_COLORS)])
bars.update_layout(barmode="group", height=300, margin=dict(l=10, r=10, t=30, b=10), yaxis_title="probability",
                   yaxis_range=[0, 1], title=f"Each model's probability of each choice (right answer: {q.answer_letter})",
                   legend=dict(orientation="h", yanchor="top", y=-0.5, x=0, xanchor="left"))
st.plotly_chart(bars, width="stretch", config={"displayModeBar": False})
left, right = st.columns([1, 3])
temperature = left.slider("Temperature (0 = greedy)", 0.0, 1.5, 0.0, 0.1, key="temperature")
seed = left.number_input("Seed", 0, 2**31 - 1, 0, key="seed", help="the same for both models")
asked = left.button("Ask both", icon=":material/forum:", key="ask")
cols = right.columns(2)
for col, name in zip(cols, (model_a, model_b)):
    col.markdown(f"**{name}**")
if asked:
    import torch

    from core.serving.chat import ChatSettings, stream_reply

    settings = ChatSettings(temperature=temperature, max_new_tokens=128)
    messages = to_messages(q, fmt, with_answer=False)
    try:
        for col, lm in zip(cols, loaded):  # one after the other: the device serves one generation at a time
            torch.manual_seed(int(seed))
            with col:
                st.write_stream(stream_reply(lm, messages, settings))
    except StudioError as e:
        admin_ui.error(e, actor)
