"""The Compare page's charts, built from the numbers core.evaluation computes (plotly figures; nothing
here draws or imports streamlit): the leaderboard columns of two models, many models' accuracy with
intervals, and the answer letters each model gives beside the right answers'."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from core.data.records import LEADERBOARD_COLUMNS, LETTERS

COLORS = ("#4C78A8", "#F58518", "#9E9E9E")  # base, fine-tuned, right answers: the same in every chart
MARGIN = dict(l=10, r=10, t=30, b=10)


def columns_chart(named: list[tuple[str, dict[str, Any]]]) -> go.Figure:
    """Accuracy per leaderboard column for each (name, summary), chance as a dotted line."""
    fig = go.Figure([go.Bar(name=name, x=LEADERBOARD_COLUMNS, marker_color=color,
                            y=[100 * (s["columns"][k]["accuracy"] or 0) for k in LEADERBOARD_COLUMNS],
                            text=[f"n={s['columns'][k]['n']}" for k in LEADERBOARD_COLUMNS])
                     for (name, s), color in zip(named, COLORS)])
    fig.add_hline(y=100 * named[0][1]["chance"], line_dash="dot", line_color="#888", annotation_text="chance")
    return fig.update_layout(barmode="group", height=320, margin=MARGIN, yaxis_range=[0, 100], yaxis_title="accuracy %",
                             title="The leaderboard's columns", legend=dict(orientation="h", y=-0.15))


def accuracy_chart(board: dict[str, Any], label: Callable[[str], str] = str) -> go.Figure:
    """Many models: each accuracy with its 95% interval, chance and the published rows as lines."""
    accs = {m: 100 * s["accuracy"] for m, s in board["models"].items()}
    fig = go.Figure(go.Bar(x=[label(m) for m in accs], y=list(accs.values()), error_y=dict(
        type="data", symmetric=False, array=[100 * board["models"][m]["ci"][1] - a for m, a in accs.items()],
        arrayminus=[a - 100 * board["models"][m]["ci"][0] for m, a in accs.items()])))
    fig.add_hline(y=100 * board["chance"], line_dash="dot", annotation_text="chance")
    for r in board["reference"] or []:
        fig.add_hline(y=100 * r["accuracy"], line_dash="dash", line_color="gray", annotation_text=r["name"])
    return fig.update_layout(height=340, margin=MARGIN, yaxis=dict(title="accuracy %", range=[0, 100]),
                             title="Accuracy with 95% intervals")


def letters_chart(letters: dict[str, dict[str, float]]) -> go.Figure:
    """The share of each answer letter: the right answers, the base's answers, the fine-tuned model's."""
    fig = go.Figure([go.Bar(name=name, x=list(letters["right answers"]), y=[100 * v for v in letters[key].values()],
                            marker_color=color)
                     for name, key, color in (("right answers", "right answers", COLORS[2]), ("base", "base", COLORS[0]),
                                              ("fine-tuned", "tuned", COLORS[1]))])
    return fig.update_layout(barmode="group", height=260, margin=MARGIN, yaxis_title="% of answers",
                             title="Letters answered, beside the right ones")


def choice_chart(question, probs: list[tuple[str, list[float] | None]]) -> go.Figure:
    """Each model's probability of each choice of one question (stored, or scored just now). The bars are
    named by letter (the page lists the choices; the full text is in the hover), so a phone's width fits."""
    labels = [f"({LETTERS[i]})" for i in range(len(question.choices))]
    fig = go.Figure([go.Bar(name=name, x=labels, y=p or [0.0] * len(labels), hovertext=question.choices,
                            marker_color=color) for (name, p), color in zip(probs, COLORS)])
    return fig.update_layout(barmode="group", height=300, margin=MARGIN, yaxis_title="probability", yaxis_range=[0, 1],
                             title=f"Probability of each choice (right: {question.answer_letter})",
                             legend=dict(orientation="h", yanchor="top", y=-0.15, x=0, xanchor="left"))
