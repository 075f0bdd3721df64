"""What the Data page shows and saves, decided in core: the sources offered, the headline counts, the
overview charts' counts, the conversations a row becomes, and saving a selection as a subset."""

from __future__ import annotations

import pytest

from core import access
from core.data import filtering, preview, selection, subsets
from core.data.prompts import training_conversations
from core.data.records import Question
from core.errors import StudioError
from tests.conftest import make_questions


def frame_of(questions: list[Question]):
    return filtering.build_frame(questions)


def test_a_visitor_is_offered_no_server_file_and_saved_subsets_come_last():
    assert selection.source_options(["a", "b"], trusted=True) == ["sample", "hub", "local", "subset:a", "subset:b"]
    assert selection.source_options(["a"], trusted=False) == ["sample", "hub", "subset:a"]
    assert selection.source_label("subset:a") == "Saved subset: a"
    assert selection.source_label("local") == "Local file or folder…"


def test_filter_values_are_the_present_ones_sorted_without_blanks():
    qs = make_questions(6)
    qs[0].topic = ""
    qs[1].topic = "maps"
    frame = frame_of(qs)
    assert selection.filter_values(frame, "topic") == ["maps", "units"]
    assert selection.grade_values(frame) == [1, 2, 3, 4, 5, 6]
    qs = [Question(pid=str(i), question="Q?", choices=["a", "b"], answer=0) for i in range(3)]
    assert selection.grade_values(frame_of(qs)) == []  # rows without a grade offer none


def test_headline_counts_what_the_selection_holds():
    qs = make_questions(12)  # split and subject cycle together; a hint every 4th row, an image every 5th
    for q in qs[::3]:
        q.subject = ""  # the train rows have no subject
    frame = frame_of(qs)
    kept = frame[frame["split"] != "test"]
    h = selection.headline(kept, frame)
    assert (h.selected, h.total) == (8, 12)
    assert h.per_split == {"train": 4, "val": 4, "test": 0}
    assert h.with_image == sum(q.has_image for q, s in zip(qs, frame["split"]) if s != "test")
    assert h.with_hint == sum(bool(q.hint) for q, s in zip(qs, frame["split"]) if s != "test")
    assert h.subjects == 1  # social science: a blank subject is not a subject


def test_overview_charts_count_every_selected_row_once_per_chart_in_split_order():
    qs = make_questions(60)
    for i, q in enumerate(qs):
        q.topic = "common" if i % 15 < 2 else f"topic{i % 15}"  # 14 topics: the chart keeps the 12 most common
    frame = frame_of(qs)
    charts = selection.overview_charts(frame)
    assert [c.title for c in charts] == ["By subject", "By grade", "By context group (TXT and IMG overlap)",
                                         "By number of choices", "Top topics"]
    for chart in charts[:2] + charts[3:4]:
        assert int(chart.counts.to_numpy().sum()) == len(qs)
        assert list(chart.counts.columns) == ["train", "val", "test"]
    grades = charts[1].counts.index.tolist()
    assert grades == [str(g) for g in range(1, 13)]  # 1..12 by number, not "1", "10", "11", "12", "2"
    context = charts[2].counts
    assert list(context.index) == ["TXT", "IMG", "NO"]
    assert int(context.loc["IMG"].sum()) == sum(q.has_image for q in qs)
    topics = charts[4]
    assert topics.horizontal and len(topics.counts) == selection.TOP_TOPICS
    totals = topics.counts.sum(axis=1).tolist()
    assert totals == sorted(totals) and topics.counts.index[-1] == "common"  # drawn bottom-up: largest on top


def test_stacked_counts_keep_the_given_order_and_drop_absent_categories():
    frame = frame_of(make_questions(9))
    counts = selection.stacked_counts(frame, "subject", ["social science", "absent", "natural science"])
    assert counts.index.tolist() == ["social science", "natural science"]
    assert counts.loc["natural science"].tolist() == [3, 0, 0]  # make_questions: subject and split cycle together


def test_the_preview_names_every_conversation_training_builds_from_a_row():
    q = make_questions(1)[0]
    for fmt in ("paper", "tutor"):
        named = preview.row_conversations(q, fmt)
        assert [m for _, m in named] == training_conversations([q], fmt)
    named = preview.row_conversations(q, "tutor")
    assert [n for n, _ in named] == ["Multiple choice", "Open 1"]


def test_saving_a_selection_samples_it_and_records_how(studio_home):
    qs = make_questions(30)
    filters = filtering.Filters(splits=("train", "val"))
    chosen = filtering.apply_filters(qs, filters)
    folder, kept = subsets.save_selection("two", chosen, 4, "", 0, source="sample", filters=filters)
    manifest = {s.name: s.manifest for s in subsets.list_subsets()}["two"]
    assert folder.name == "two" and manifest["total"] == 4 and manifest["n"] == 4
    assert manifest["filters"] == {"splits": ["train", "val"]} and manifest["source"] == "sample"
    assert kept.startswith(f"kept 4 of the {len(chosen)} questions that pass the filters (4 in total)")
    folder, kept = subsets.save_selection("all", chosen, 0, "", 0, source="sample", filters=filters)
    assert {s.name: s.manifest for s in subsets.list_subsets()}["all"]["n"] is None and f"kept {len(chosen)} of" in kept
    with pytest.raises(StudioError, match="Give the subset a name first"):
        subsets.save_selection("", chosen, 0, "", 0, source="sample", filters=filters)


def test_a_visitor_cannot_save_a_selection_and_sees_no_server_path_in_the_saved_list(studio_home, monkeypatch,
                                                                                       tmp_path):
    qs = make_questions(6)
    source = str(tmp_path / "rows.jsonl")
    subsets.save_selection("mine", qs, 0, "", 0, source=source, filters=filtering.Filters(search=source))
    monkeypatch.setenv("SQA_ADMIN_PASSWORD", "s3cret")
    visitor = access.Actor(address="203.0.113.9")
    with pytest.raises(StudioError):
        subsets.save_selection("theirs", qs, 0, "", 0, source="sample", filters=filtering.Filters(), actor=visitor)
    assert [s.name for s in subsets.list_subsets()] == ["mine"]
    row = subsets.subset_rows(subsets.list_subsets(), visitor)[0]
    assert str(tmp_path) not in row["source"] and str(tmp_path) not in row["made from"]
    admin = subsets.subset_rows(subsets.list_subsets(), access.Actor(admin=True))[0]
    assert admin["source"] == source and source in admin["made from"]
