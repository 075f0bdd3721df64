"""Practice page: the teacher starts a practice session (a fixed list of questions and a join code) and
watches the class answer it live on the class link's Practice tab: who joined, accuracy per question and
per skill, the most chosen wrong option, hints used, beside the model's own answer; CSV export, stop,
delete. Logic lives in core.practice; this file lays out widgets. Admin only in public mode."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import admin_ui
import classroom_launcher
from core.errors import StudioError
from core.models.catalogue import offered_models
from core.models.defaults import tutor_model
from core.practice import report, sessions
from core.practice.questions import SUBJECTS, offered_sources

st.set_page_config(page_title="Practice · ScienceQA Tutor Studio", page_icon=":material/quiz:", layout="wide")
actor = admin_ui.actor()
state = st.session_state
st.title("Practice")
st.caption("Set a class a few questions on the class link: students join with a code and a nickname, wrong "
           "answers are explained by the tutor from the question's own lesson, and you see live how the class "
           "is doing, beside the model's own answers.")
if not actor.trusted:
    st.info("Practice sessions are run by the teacher: sign in as admin in the sidebar.", icon=":material/lock:")
    st.stop()

link = classroom_launcher.status()
if link is None or link.state != "running":
    st.warning("Students answer on the class link: start it on the Tutor page (Share with a class).",
               icon=":material/link_off:")
else:
    st.success(f"Class link: {link.url} — students open its **Practice** tab.", icon=":material/link:")

with st.expander("Start a session", expanded=not sessions.list_sessions(actor), icon=":material/play_arrow:"):
    c1, c2, c3 = st.columns(3)
    source = c1.selectbox("Questions from", offered_sources(), key="pr_source")
    n = c2.number_input("Questions", 1, 50, 10, key="pr_n")
    grades = c3.select_slider("Grades", options=list(range(1, 13)), value=(1, 12), key="pr_grades")
    c4, c5 = st.columns(2)
    subject = c4.selectbox("Subject", ["any", *SUBJECTS], key="pr_subject")
    models = offered_models(actor)
    model = c5.selectbox("Compare with the model", models, key="pr_model",
                         index=models.index(tutor_model(models)) if tutor_model(models) in models else 0)
    if st.button("Start session", type="primary", icon=":material/play_arrow:", key="pr_start"):
        try:
            s = sessions.create(source, int(n), f"{grades[0]}-{grades[1]}", None if subject == "any" else subject,
                                model, actor=actor)
            with st.spinner(f"Scoring {model} on the {s.n} questions…"):
                report.model_answers(s.code, actor=actor)
            state.practice_code = s.code
        except StudioError as e:
            admin_ui.error(e, actor)

try:
    all_sessions = sessions.list_sessions(actor)
except StudioError as e:
    admin_ui.error(e, actor)
    st.stop()
if not all_sessions:
    st.info("No practice session yet: start one above.")
    st.stop()
codes = [s.code for s in all_sessions]
labels = {s.code: f"{s.code} · {s.status} · {s.n} questions · {s.source}" for s in all_sessions}
if state.get("practice_code") not in codes:
    state.practice_code = codes[0]
chosen = st.selectbox("Session", codes, format_func=labels.get, key="practice_code")


def question_chart(rows: pd.DataFrame) -> go.Figure:
    acc = rows["accuracy"].astype(float).fillna(0) * 100
    colors = ["#2E7D32" if r is True else "#C62828" if r is False else "#9E9E9E" for r in rows["model right"]]
    fig = go.Figure(go.Bar(x=[f"Q{i}" for i in rows["#"]], y=acc, name="class",
                           text=[f"{a:.0f}% of {n}" if n else "" for a, n in zip(acc, rows["answered"])],
                           textposition="outside", cliponaxis=False, marker_color="#4C78A8", hovertext=rows["question"]))
    fig.add_trace(go.Scatter(x=[f"Q{i}" for i in rows["#"]], y=[118] * len(rows), mode="markers", name="model",
                             marker={"symbol": "diamond", "size": 12, "color": colors},
                             hovertext=[f"model {a or '-'}" for a in rows["model answer"]]))
    fig.update_layout(height=300, margin={"t": 30, "b": 10, "l": 10, "r": 10}, yaxis_title="class right (%)",
                      yaxis_range=[0, 125], title="Right per question · ◆ the model (green: right)",
                      legend={"orientation": "h", "y": -0.2})
    return fig


def skill_chart(skills: pd.DataFrame) -> go.Figure:
    skills = skills.sort_values("accuracy", na_position="first")
    fig = go.Figure(go.Bar(y=skills["skill"], x=skills["accuracy"].astype(float).fillna(0) * 100, orientation="h",
                           text=[f"{c}/{n}" for c, n in zip(skills["correct"], skills["answered"])], textposition="outside",
                           cliponaxis=False,
                           marker_color=["#C62828" if (a or 0) < 0.6 else "#2E7D32" for a in skills["accuracy"]]))
    fig.update_layout(height=max(200, 40 * len(skills) + 60), margin={"t": 30, "b": 10, "l": 10, "r": 10},
                      xaxis_title="right (%)", xaxis_range=[0, 115], title="Per skill (red: to review)")
    return fig


@st.fragment(run_every=3.0)
def live(code: str) -> None:
    try:
        view = report.class_view(code, actor)
    except StudioError as e:
        admin_ui.error(e, actor)
        return
    rows = pd.DataFrame(view.questions)
    answered = int(rows["answered"].sum())
    right = int(rows["correct"].sum())
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Joined", len(view.nicknames))
    m2.metric("Answers", f"{answered} of {len(view.nicknames) * view.session.n}")
    m3.metric("Class right", f"{right / answered:.0%}" if answered else "–")
    model_right = rows["model right"].dropna()
    m4.metric(f"Model right ({Path(view.model_label).name if view.model_label else 'none'})",
              f"{int(model_right.sum())} of {len(model_right)}" if len(model_right) else "–")
    st.caption("Joined: " + (", ".join(view.nicknames) if view.nicknames else "nobody yet") +
               f" · session {view.session.status}")
    left, right_col = st.columns([3, 2])
    left.plotly_chart(question_chart(rows), width="stretch", key="pr_qchart")
    if view.skills:
        right_col.plotly_chart(skill_chart(pd.DataFrame(view.skills)), width="stretch", key="pr_schart")
    shown = rows[["#", "question", "skill", "answered", "accuracy", "most chosen wrong", "hints used",
                  "right answer", "model answer", "model right"]]
    st.dataframe(shown, hide_index=True, width="stretch", key="pr_table",
                 column_config={"accuracy": st.column_config.ProgressColumn("right", format="percent", min_value=0,
                                                                            max_value=1),
                                "most chosen wrong": st.column_config.TextColumn(help="the misconception"),
                                "model right": st.column_config.CheckboxColumn("model right")})


st.subheader(f"Session {chosen}")
st.markdown(f"Join code: **`{chosen}`** — students type it on the class link's Practice tab.")
live(chosen)

b1, b2, b3 = st.columns(3)
try:
    b1.download_button("Export CSV", report.to_csv(chosen, actor), file_name=f"practice-{chosen}.csv",
                       mime="text/csv", icon=":material/download:", key="pr_csv")
except StudioError as e:
    admin_ui.error(e, actor)
if b2.button("Stop session", icon=":material/stop:", key="pr_stop"):
    try:
        sessions.stop(chosen, actor)
        st.rerun()
    except StudioError as e:
        admin_ui.error(e, actor)
with b3.popover("Delete session", icon=":material/delete:"):
    st.caption("Deletes the session and every nickname and answer in it.")
    if st.button("Delete for good", type="primary", key="pr_delete"):
        try:
            sessions.delete(chosen, actor)
            state.pop("practice_code", None)
            st.rerun()
        except StudioError as e:
            admin_ui.error(e, actor)
