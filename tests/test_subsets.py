"""core.data.filtering and core.data.subsets: filters, reproducible stratified sampling, and saved subsets."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from core.data.filtering import Filters, apply_filters, build_frame, stratified_sample, summarize
from core.data.sources import load_source
from core.data.subsets import delete_subset, list_subsets, save_subset
from core.errors import StudioError


@pytest.fixture
def problems(shared_scienceqa):
    return load_source(str(shared_scienceqa / "original"))


def test_each_filter_keeps_only_matching_questions(problems):
    def pick(**kw):
        return apply_filters(problems, Filters(**kw))

    assert {q.split for q in pick(splits=("val",))} == {"val"}
    assert {q.subject for q in pick(subjects=("language science",))} == {"language science"}
    graded = pick(grade_min=3, grade_max=5)
    assert graded and all(3 <= q.grade_number <= 5 for q in graded)
    assert all("IMG" in q.context_groups for q in pick(contexts=("IMG",)))
    txt_or_no = [q for q in problems if "TXT" in q.context_groups or q.context_groups == ["NO"]]
    assert pick(contexts=("TXT", "NO")) == txt_or_no
    assert {len(q.choices) for q in pick(n_choices=(2,))} == {2}
    assert not any(q.has_image for q in pick(text_only="drop"))
    assert len(pick(text_only="caption")) == len(problems)
    assert all(q.lecture for q in pick(has_lecture=True)) and all(not q.lecture for q in pick(has_lecture=False))
    topic = problems[0].topic
    assert {q.topic for q in pick(topics=(topic,))} == {topic}
    found = pick(search="NORTH")
    assert found and all("north" in (q.question + q.hint + " ".join(q.choices)).lower() for q in found)
    assert pick() == problems


def test_filters_reject_bad_values():
    with pytest.raises(ValueError, match="grade_min 9 is above grade_max 3"):
        Filters(grade_min=9, grade_max=3)
    with pytest.raises(ValueError, match="unknown context group"):
        Filters(contexts=("PIC",))
    assert Filters(subjects=["x"], search="").to_dict() == {"subjects": ["x"]}


def test_frame_filter_on_unknown_grades_excludes_them(shared_scienceqa):
    qs = load_source(str(shared_scienceqa / "test_qcm.jsonl"))
    frame = build_frame(qs)
    assert len(frame) == 4241
    assert apply_filters(qs, Filters(grade_min=1), frame) == []


def test_stratified_sample_is_reproducible_and_proportional(problems):
    a = stratified_sample(problems, 30, seed=3)
    assert len(a) == 30 and a == stratified_sample(problems, 30, seed=3)
    assert a != stratified_sample(problems, 30, seed=4)
    assert Counter(q.split for q in a) == {"train": 10, "val": 10, "test": 10}
    by_split = {s: {q.pid for q in a if q.split == s} for s in ("train", "val", "test")}
    assert not (by_split["train"] & by_split["val"]) and not (by_split["val"] & by_split["test"])
    assert stratified_sample(problems, None) == problems


def test_sample_per_subject_and_per_grade(problems):
    per_subject = stratified_sample(problems, 4, per="subject", seed=0)
    counts = Counter((q.split, q.subject) for q in per_subject)
    full = Counter((q.split, q.subject) for q in problems)
    assert all(counts[k] == min(4, full[k]) for k in full)
    per_grade = stratified_sample(problems, 1, per="grade", seed=0)
    assert len(per_grade) == len({(q.split, q.grade) for q in problems})
    with pytest.raises(ValueError, match="at least 1"):
        stratified_sample(problems, 0)


def test_save_list_load_and_delete_a_subset(problems, studio_home):
    chosen = stratified_sample(apply_filters(problems, Filters(splits=("train",))), 12, seed=1)
    folder = save_subset("train-12", chosen, {"source": "orig", "seed": 1})
    assert folder == studio_home / "subsets" / "train-12"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["total"] == 12 and manifest["by_split"] == {"train": 12} and manifest["seed"] == 1
    assert len(manifest["content_hash"]) == 16 and manifest["created"]
    assert load_source("subset:train-12") == chosen
    assert [s.name for s in list_subsets()] == ["train-12"]
    with pytest.raises(StudioError) as e:
        save_subset("train-12", chosen)
    assert str(e.value) == ("A subset named 'train-12' already exists: choose another name, or delete that one "
                            "first.")  # plain, without the app's folders
    delete_subset("train-12")
    assert list_subsets() == [] and not folder.exists()


def test_save_rejects_empty_selections_and_bad_names(problems):
    with pytest.raises(StudioError, match="select no questions"):
        save_subset("empty", apply_filters(problems, Filters(search="no such words anywhere")))
    with pytest.raises(StudioError, match="^Give the subset a name first"):
        save_subset("  ", problems[:1])
    for bad in ["../escape", "a/b", ".hidden", "x" * 65]:
        with pytest.raises(StudioError, match="cannot be a subset name") as e:
            save_subset(bad, problems[:1])
        assert "/" not in str(e.value).replace(bad, "")  # no folder of the app in the message


def test_summary_counts(problems):
    s = summarize(problems)
    assert s["total"] == 150 and s["by_split"] == {"train": 50, "val": 50, "test": 50}
    assert s["by_context"]["IMG"] == 67 == s["with_image"]
    assert sum(s["by_choices"].values()) == 150


def test_rows_without_grade_or_subject_get_labels_not_errors():
    from core.data.records import Question
    from core.data.selection import grade_labels

    qs = [Question(pid=f"p{i}", question="Q?", choices=["a", "b"], answer=0, grade="grade3" if i else "")
          for i in range(3)]
    assert grade_labels(build_frame(qs)).tolist() == ["?", "3", "3"]
    assert grade_labels(build_frame(qs[:1])).tolist() == ["?"]


def test_saved_subsets_are_described_by_their_splits_and_filters(problems):
    from core.data.filtering import describe_kept
    from core.data.subsets import subset_rows

    chosen = stratified_sample(apply_filters(problems, Filters(subjects=("natural science",), text_only="drop")),
                               4, per="subject", seed=0)
    save_subset("nat", chosen, {"source": "orig", "filters": Filters(subjects=("natural science",),
                                                                     text_only="drop").to_dict(),
                                "n": 4, "per": "subject"})
    row = subset_rows(list_subsets())[0]
    assert (row["name"], row["questions"], row["train"] + row["val"] + row["test"]) == ("nat", len(chosen), len(chosen))
    assert row["made from"] == "subject natural science; no image questions; 4 per subject"
    assert describe_kept(chosen, 40, 4, "subject").startswith(
        f"kept {len(chosen)} of the 40 questions that pass the filters (up to 4 per subject in each split): train ")


def test_context_counts_count_each_group_of_a_row_as_exploding_the_rows_does(problems):
    from core.data.selection import context_counts

    frame = build_frame(problems)
    exploded = frame.assign(group=frame["context"].str.split("+")).explode("group")
    expected = exploded.groupby(["group", "split"]).size().unstack(fill_value=0)
    counts = context_counts(frame)
    assert list(counts.index) == ["TXT", "IMG", "NO"]
    for group in expected.index:
        for split in expected.columns:
            assert counts.loc[group, split] == expected.loc[group, split]
    assert int(counts.loc["IMG"].sum()) == sum("IMG" in q.context_groups for q in problems)


def test_the_data_pages_filters_treat_the_full_grade_range_and_any_as_no_filter():
    assert Filters.from_page([1, 2, 5], (1, 5), "any", "any", splits=["train"]) == Filters(splits=("train",))
    narrowed = Filters.from_page([1, 2, 5], (2, 5), "with", "without")
    assert (narrowed.grade_min, narrowed.grade_max) == (2, 5)
    assert (narrowed.has_lecture, narrowed.has_solution) == (True, False)
    assert Filters.from_page([3], (None, None)) == Filters()
