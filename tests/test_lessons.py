"""Lesson retrieval (core.data.lessons): the right lesson for a known question, one per skill, never an
excluded row; the index cached in the app home, reused, and rebuilt when damaged or when the source changes;
the tutor format's training conversations carry a retrieved lesson that is not the row's own."""

from __future__ import annotations

import json
import os

import pytest

from core.data.lessons import LessonIndex, clear_memory, lesson_index
from core.data.records import Question

LECTURES = {
    "States of matter": ("Identify solids, liquids, and gases",
                         ("Solid, liquid, and gas are states of matter. A solid has a shape of its own. A liquid "
                          "takes the shape of its container. A gas spreads out to fill a space."),
                         [("Which is a solid?", ["milk", "a rock", "steam"], 1, "A rock is a solid. It keeps its shape."),
                          ("Which is a gas?", ["steam", "ice", "juice"], 0, "Steam is a gas. It fills its container."),
                          ("Which is a liquid?", ["a brick", "water"], 1, "Water is a liquid. It flows.")]),
    "Classification": ("Identify mammals, birds, fish, reptiles, and amphibians",
                       "Mammals have fur or hair and feed their young milk. Fish live in water and have fins.",
                       [("Which animal is a mammal?", ["shark", "whale", "trout"], 1,
                         "A whale is a mammal. It breathes air and feeds its young milk."),
                        ("Which animal is a fish?", ["salmon", "dog"], 0, "A salmon is a fish. It has fins.")]),
    "Magnets": ("Will these magnets attract or repel?",
                "Magnets can pull or push on each other. Opposite poles attract and like poles repel.",
                [("Will these magnets attract or repel? North pole faces south pole.", ["attract", "repel"], 0,
                  "Opposite poles attract, so these magnets attract."),
                 ("Will these magnets attract or repel? North pole faces north pole.", ["attract", "repel"], 1,
                  "Like poles repel, so these magnets repel.")]),
}


def lesson_rows() -> list[Question]:
    rows = []
    for title, (skill, lecture, items) in LECTURES.items():
        for question, choices, answer, solution in items:
            rows.append(Question(pid=f"q{len(rows)}", question=question, choices=choices, answer=answer,
                                 split="train", category=title, skill=skill, lecture=lecture, solution=solution))
    return rows


def test_retrieval_finds_the_lesson_that_teaches_a_known_question():
    index = LessonIndex.from_questions(lesson_rows())
    best = index.retrieve("Which of these is a solid? (A) juice (B) a stone (C) air", k=1)
    assert [l.title for l in best] == ["States of matter"]
    assert "A solid has a shape of its own" in best[0].lecture and best[0].score > 0
    assert index.retrieve("Is a dolphin a mammal or a fish?", k=1)[0].title == "Classification"
    assert index.retrieve("Do the north and south poles of two magnets attract?", k=1)[0].title == "Magnets"


def test_lessons_are_one_per_skill_and_excluded_rows_never_come_back():
    rows = lesson_rows()
    index = LessonIndex.from_questions(rows)
    two = index.retrieve("Which is a solid? (A) milk (B) a rock (C) steam", k=2)
    assert len(two) == 2 and len({l.skill for l in two}) == 2  # three matter rows, one matter lesson
    own = next(q for q in rows if q.question == "Which is a solid?")
    assert two[0].pid == own.pid
    again = index.retrieve("Which is a solid? (A) milk (B) a rock (C) steam", k=1, exclude={own.pid})
    assert again[0].pid != own.pid and again[0].title == "States of matter"
    assert index.retrieve("zebra quantum xylophone", k=2) == []  # nothing shared: no lesson, not a random one


def test_the_index_is_cached_in_the_app_home_and_reused(tmp_path, studio_home):
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(json.dumps(q.to_dict()) for q in lesson_rows()), encoding="utf-8")
    said: list[str] = []
    first = lesson_index(str(source), said.append)
    assert any("indexed" in m for m in said)
    folders = list((studio_home / "cache" / "lessons").iterdir())
    assert len(folders) == 1 and (folders[0] / "rows.json").exists()
    clear_memory()
    said.clear()
    second = lesson_index(str(source), said.append)
    assert said == [f"Lessons of {source}: {len(first)} rows (cached index)"]
    assert second.retrieve("Which is a solid?", 1)[0].title == "States of matter"


@pytest.mark.parametrize("damage", ["rows", "arrays", "truncated"])
def test_a_damaged_cache_is_rebuilt_not_trusted(tmp_path, studio_home, damage):
    source = tmp_path / "rows.jsonl"
    source.write_text("\n".join(json.dumps(q.to_dict()) for q in lesson_rows()), encoding="utf-8")
    lesson_index(str(source))
    clear_memory()
    folder = next((studio_home / "cache" / "lessons").iterdir())
    if damage == "rows":
        (folder / "rows.json").write_text('{"version": 1, "rows": [{"pid": 3}]}')
    elif damage == "arrays":
        for npy in (folder / "bm25").glob("*.npy"):
            npy.write_bytes(b"\x93NUMPY garbage")
    else:
        (folder / "rows.json").write_text((folder / "rows.json").read_text()[:40])
    said: list[str] = []
    index = lesson_index(str(source), said.append)
    assert any("damaged" in m for m in said) and any("indexed" in m for m in said)
    assert index.retrieve("Which is a solid?", 1)[0].title == "States of matter"
    clear_memory()
    said.clear()
    lesson_index(str(source), said.append)
    assert any("cached index" in m for m in said)  # the rebuilt cache is whole again


def test_a_changed_source_gets_a_new_index(tmp_path, studio_home):
    source = tmp_path / "rows.jsonl"
    rows = lesson_rows()
    source.write_text("\n".join(json.dumps(q.to_dict()) for q in rows[:2]), encoding="utf-8")
    assert lesson_index(str(source)).retrieve("Do two magnets attract?", 1) == []
    source.write_text("\n".join(json.dumps(q.to_dict()) for q in rows), encoding="utf-8")
    stat = source.stat()
    os.utime(source, (stat.st_atime, stat.st_mtime + 10))
    assert lesson_index(str(source)).retrieve("Do two magnets attract?", 1)[0].title == "Magnets"


def test_tutor_training_conversations_carry_a_retrieved_lesson_that_is_not_the_rows_own():
    from core.data.prompts import LESSON_INTRO, training_conversations
    from core.data.prompts import lesson_rows as carries

    rows = lesson_rows()
    convs = training_conversations(rows, "tutor")
    mc = {c[-2]["content"]: c for c in convs if c[-2]["content"].startswith("Question: ")}
    with_lesson = [q for q in rows if carries(q)]
    assert with_lesson and len(with_lesson) < len(rows)  # half the rows: the rest learn to answer without one
    for q in rows:
        system = next(c for text, c in mc.items() if text.startswith(f"Question: {q.question}\n"))[0]["content"]
        if not carries(q):
            assert LESSON_INTRO not in system
            continue
        assert LESSON_INTRO in system
        assert q.solution.split(".")[0] not in system  # another row's worked example, never its own answer
        assert f"Lesson: {q.category}" in system  # the same skill's lesson (retrieved, not looked up)
    assert all(LESSON_INTRO not in c[0]["content"] for c in training_conversations(rows, "paper_ale"))
