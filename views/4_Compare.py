"""Compare page: two models on the same questions (default: the pretrained preset and the newest run trained
from it; core.models.defaults), or many on one chart. A view: what to evaluate, what is done, running or
missing, starting it and the results all come from core.evaluation.comparison; the numbers from
core.evaluation.reports and core.evaluation.report_card. Models are named by core.models.catalogue."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import admin_ui
import compare_ui
from core import access
from core.data.prompts import FORMATS
from core.data.sources import source_splits
from core.errors import StudioError
from core.evaluation import comparison as cmpn
from core.evaluation import figures
from core.evaluation import report_card as rc
from core.evaluation.methods import offered
from core.evaluation.reports import headline, leaderboard, model_warnings, pairwise_tests, per_question, to_csv, to_markdown
from core.models.catalogue import display_name, offered_models
from core.models.defaults import compare_pair
from core.training.progress import format_duration

st.set_page_config(page_title="Compare · ScienceQA Tutor Studio", page_icon=":material/compare:", layout="wide")
actor = admin_ui.actor()


def evaluate_button(slots: list[cmpn.Slot], label: str, key: str) -> None:
    """Start the missing evaluations of `slots` as one request; disabled, with the reason, when refused."""
    why = cmpn.refusal(slots, actor)
    if st.button(label, type="primary", icon=":material/play_arrow:", key=key, disabled=bool(why), help=why or None):
        try:
            cmpn.start(slots, actor)
            st.rerun()
        except StudioError as e:
            admin_ui.error(e, actor)


@st.fragment(run_every=2)
def progress(plan: cmpn.Plan) -> None:
    """The running jobs' status files (nothing else is read every 2 s); the whole page reruns when one ends."""
    for slot in plan.running:
        state, frac, message = cmpn.job_state(slot)
        if state in ("done", "failed", "crashed", "stopped"):
            st.rerun(scope="app")
        bar, stop = st.columns([6, 1])
        bar.progress(frac, text=f"{display_name(slot.model)} ({slot.request.method}): {message}")
        if actor.trusted and stop.button("Stop", key=f"stop_{slot.running.name}", icon=":material/stop:"):
            cmpn.stop(slot, actor)


st.title(":material/compare: Compare")
st.caption("Models on the same questions, against guessing: two side by side with a report card, or many on one chart.")
names = offered_models(actor)
base_default, tuned_default = compare_pair(names)
view = st.segmented_control("How many models", ["Two models", "Many models"], default="Two models",
                            key="cmp_view", label_visibility="collapsed") or "Two models"
with st.sidebar:
    st.header("Models")
    if view == "Many models":
        picked = st.multiselect("Models", names, default=cmpn.many_defaults(names, base_default),
                                format_func=display_name, key="many_models", help="Every model on the same questions.")
        reference = st.selectbox("Reference (each model is tested against it)", picked or [base_default],
                                 format_func=display_name, key="many_ref")
    else:
        model_a = st.selectbox("Base model", names, index=names.index(base_default) if base_default in names else 0,
                               format_func=display_name, key="model_a")
        model_b = st.selectbox("Fine-tuned model", names, format_func=display_name, key="model_b",
                               index=names.index(tuned_default) if tuned_default in names else None,
                               placeholder="No fine-tuned model yet")
    st.header("Questions")
    data = st.selectbox("Source", cmpn.data_sources(actor), key="data")
    if data == "local…":
        data = st.text_input("File or folder", key="data_path").strip()
    try:
        with access.acting(actor):
            splits = source_splits(data) if data else []
    except StudioError as e:
        admin_ui.error(e, actor)
        st.stop()
    split = st.selectbox("Split", splits or ["(all)"], index=splits.index("test") if "test" in splits else 0, key="split")
    limit = st.number_input("At most this many questions (0 = the whole split)", 0, 100_000, 0, step=50, key="limit",
                            help="Fewer questions are quicker, but the comparison is less sure.")
    methods = {m.name: m for m in offered()}
    method = st.radio("How answers are scored", list(methods), format_func=lambda m: methods[m].label, key="method",
                      captions=[m.help for m in methods.values()])
    if view == "Many models":
        fmt = st.selectbox("Prompt format", ["(each model's own)", *FORMATS], key="fmt_many",
                           format_func=lambda f: FORMATS[f].label if f in FORMATS else f,
                           help="Each model is scored in the format it was trained in, unless you pick one.")
        fmt = None if fmt not in FORMATS else fmt
    else:
        fmt = st.selectbox("Prompt format", list(FORMATS), index=list(FORMATS).index(cmpn.pair_format(model_a, model_b)),
                           key=f"fmt:{model_a}:{model_b}",
                           format_func=lambda f: FORMATS[f].label, help="Starts at the format the fine-tuned model was trained in.")

models = (picked if view == "Many models" else [model_a, model_b]) if data else []
if view == "Two models" and not model_b:
    st.info("No fine-tuned model yet: train one on the Train page, then compare it with its base here.")
    st.stop()
if len(models) < 2:
    st.info("Pick at least two models and a data source in the sidebar.")
    st.stop()
try:
    plan = cmpn.plan_comparison(models, data, None if split == "(all)" else split, int(limit) or None, method, fmt, actor)
except (StudioError, ValueError) as e:
    admin_ui.error(e, actor)
    st.stop()
if plan.warning:
    st.warning(plan.warning, icon=":material/warning:")
seen_missing = st.session_state.setdefault("evaluated_this_visit", set())  # keys not cached when first seen here
seen_missing.update(s.key for s in plan.slots if s.done is None)
if not plan.ready:
    todo = [s for s in plan.slots if s.done is None]
    st.caption(f"{plan.n:,} questions; evaluating {len(todo)} model{'s' * (len(todo) > 1)} takes about "
               f"{format_duration(plan.seconds_left())} here (rough; one after the other on the device).")
    for s in (s for s in plan.slots if s.failed):
        st.warning(access.shown(f"{display_name(s.model)}: {s.failed}", actor), icon=":material/error:")
    if plan.missing:
        evaluate_button(plan.slots, "Evaluate both" if view == "Two models" else f"Evaluate {len(todo)} models", "go")
    if plan.running:
        progress(plan)
    st.stop()
if not seen_missing & {s.key for s in plan.slots}:
    st.caption(f":material/bolt: Cached results for {plan.n:,} questions (evaluated before this visit).")

if view == "Many models":
    res = {s.model: cmpn.stored(s)[0] for s in plan.slots}
    try:
        board = leaderboard(res, plan.slots[0].request.split)
        tests = pairwise_tests({m: per_question([r]) for m, r in res.items()}, reference=reference)
    except StudioError as e:
        admin_ui.error(e, actor)
        st.stop()
    st.markdown(f"**{len(models)} models on the same {board['n']:,} questions**"
                + ("" if board["reference"] else " (published rows appear for the whole official test split)"))
    st.dataframe(pd.DataFrame(cmpn.leaderboard_rows(plan, board, display_name)), hide_index=True, key="many_table")
    st.plotly_chart(figures.accuracy_chart(board, display_name), key="many_chart")
    st.markdown(f"**Against {display_name(reference)}** (paired McNemar tests, Holm-corrected for {len(tests)} comparisons)")
    st.dataframe(pd.DataFrame(cmpn.test_rows(tests, display_name)), hide_index=True, key="many_tests")
    st.stop()

out = cmpn.outcome(plan)
(res_a, res_b), (sa, sb), cmp, card = out["results"], out["summaries"], out["compare"], out["card"]
name_a, name_b = display_name(model_a), display_name(model_b)
st.markdown(f"#### {headline(cmp, base=f'its base ({name_a})', tuned=f'The fine-tuned model ({name_b})')}")
c = st.columns(3)
for col, label, s, res in ((c[0], name_a, sa, res_a), (c[1], name_b, sb, res_b)):
    col.metric(label, f"{100 * s['accuracy']:.1f}%", help=f"95% CI {100 * s['ci'][0]:.1f}–{100 * s['ci'][1]:.1f}%, n = {s['n']}")
    col.caption(f"right on {s['correct']:,} of {s['n']:,} · chance {100 * s['chance']:.0f}%")
    for note in model_warnings(res):
        col.warning(note, icon=":material/warning:")
c[2].metric("Chance (guessing)", f"{100 * sa['chance']:.1f}%", help="mean of 1 / number of choices on these questions")
if sa.get("always_letter_accuracy") is not None:
    c[2].caption(f"always answering ({sa['always_letter']}) gets {100 * sa['always_letter_accuracy']:.1f}%")
with st.expander("The statistics behind the sentence"):
    s1, s2, _ = st.columns(3)
    s1.metric("Difference", f"{100 * cmp['difference']:+.1f} pts", help="fine-tuned minus base, paired")
    s1.caption("95% CI {:+.1f} to {:+.1f} pts (Newcombe, paired)".format(*(100 * x for x in cmp["difference_ci"])))
    s2.metric("McNemar p", f"{cmp['mcnemar_p']:.3g}", help=f"{cmp['mcnemar_test']} test on the discordant pairs")
    s2.caption(f"{len(cmp['gained'])} gained · {len(cmp['lost'])} lost")

tabs = st.tabs([":material/school: Report card", ":material/swap_vert: Flips", ":material/download: Export"])
with tabs[0]:
    o, u = card["overall"], card["image_unseen"]
    st.markdown(f"The fine-tune **fixed {o['fixed']}** questions and **broke {o['broke']}**. "
                + rc.shuffled_sentence(card))
    if plan.shuffled and not all(s.done for s in plan.shuffled):
        if plan.running:
            progress(plan)
        else:
            evaluate_button(plan.shuffled, f"Check with the options shuffled (about "
                            f"{format_duration(plan.seconds_left(plan.shuffled))})", "shuffle_go")
    if u["n"]:
        st.caption(f"{u['n']} questions need an image the models cannot see (no useful caption): base "
                   f"{100 * u['base']:.0f}%, fine-tuned {100 * u['tuned']:.0f}%, chance {100 * u['chance']:.0f}%. "
                   "They are counted here and left out of the table.")
    dim = st.segmented_control("By", list(rc.DIMENSIONS), default="subject", key="card_dim") or "subject"
    rows = [r for r in rc.table_rows(card) if r["dimension"] in ("overall", dim)]
    st.dataframe(pd.DataFrame(rows).drop(columns="dimension"), hide_index=True, key="card_table")
    st.plotly_chart(figures.letters_chart(card["letters"]), key="letters_chart", config={"displayModeBar": False})
with tabs[1]:
    flips = pd.DataFrame(cmpn.flip_rows(plan, cmp, res_a, res_b),
                         columns=["pid", "change", "skill", "gold", "base", "fine-tuned", "question"])
    st.caption("fixed: base wrong → fine-tuned right; broke: base right → fine-tuned wrong. Pick a row to open it "
               "(and ask both models it below).")
    event = st.dataframe(flips, hide_index=True, key="flips", height=240, on_select="rerun", selection_mode="single-row")
    if event.selection.rows:
        compare_ui.flip_view(plan, (res_a, res_b), (name_a, name_b), flips.iloc[event.selection.rows[0]]["pid"])
with tabs[2]:
    a, b = st.columns(2)
    a.download_button("Report card (CSV)", rc.to_csv(card), "report-card.csv", key="card_csv")
    b.download_button("Model-card section", rc.to_markdown(card) + "\n" + to_markdown(sb), "report-card.md", key="card_md")
    for i, (col, name, res) in enumerate(zip((a, b), (name_a, name_b), (res_a, res_b))):
        col.download_button(f"Every answer of {name} (CSV)", to_csv(res), f"answers-{i + 1}.csv", key=f"csv{i}")

st.plotly_chart(figures.columns_chart([(name_a, sa), (name_b, sb)]), key="columns_chart", config={"displayModeBar": False})
compare_ui.side_by_side(plan.questions, (model_a, model_b), actor)
