"""The lessons a tutor answers from: BM25 retrieval (bm25s) over the lectures and solutions of the loaded questions.

A lesson is one skill's lecture with the worked solution of the row nearest the question: rows are
indexed (question, lecture and solution texts), the best rows are read, and only the best row of each
skill is kept, so two lessons retrieved together never repeat one lecture.

- `lesson_index(source)`: the index of a source (sample, hub, a folder or file, subset:NAME), built
  once per version of the source (its stamp; the content hash for the Hub) and cached in the app home
  (`cache/lessons/<key>/`: bm25s's own JSON and .npy files, loaded without pickle, and our rows as
  JSON). A cache that does not read back whole is rebuilt, never trusted.
- `LessonIndex.from_questions(rows)`: an index in memory (training, benchmarks, tests).
- `retrieve(text, k)` / `retrieve_many(texts, k, exclude)`: the best `k` lessons, each a `Lesson`;
  core.data.prompts.lesson_text(lesson) is its text as a model reads it.

    python -m core chat --model smollm2-135m --lessons sample "Why does ice float on water?"
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from core.data.records import Question

Progress = Callable[[str], None]
READ_ROWS = 40  # rows read per lesson asked for before keeping the best of each skill
CACHE_VERSION = 1


@dataclass(frozen=True)
class Lesson:
    title: str  # the row's category ("States of matter"), else its skill
    lecture: str
    solution: str  # the worked solution of the nearest row of this skill
    pid: str  # that row
    score: float  # BM25 score (higher is closer)
    skill: str = ""


def _row(q: Question) -> dict[str, str]:
    return {"pid": q.pid, "title": (q.category or q.skill or q.topic or "Science").strip(),
            "skill": (q.skill.strip() or q.lecture.strip()[:80]), "lecture": q.lecture.strip(),
            "solution": q.solution.strip()}


def _document(q: Question) -> str:
    return "\n".join([q.question, " ".join(q.choices), q.lecture, q.solution])


def _tokens(texts: list[str]):
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", show_progress=False)


class LessonIndex:
    """BM25 over lesson rows. Thread-safe for retrieval (bm25s scores with numpy, read only)."""

    def __init__(self, retriever, rows: list[dict[str, str]]):
        self.retriever, self.rows = retriever, rows
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def from_questions(cls, questions: Iterable[Question]) -> LessonIndex:
        import bm25s

        kept = [q for q in questions if q.lecture.strip() or q.solution.strip()]
        retriever = bm25s.BM25()
        if kept:
            retriever.index(_tokens([_document(q) for q in kept]), show_progress=False)
        return cls(retriever, [_row(q) for q in kept])

    def retrieve(self, text: str, k: int = 2, exclude: Iterable[str] = ()) -> list[Lesson]:
        """The best `k` lessons for a question (at most one per skill), rows in `exclude` left out."""
        return self.retrieve_many([text], k, [set(exclude)])[0]

    def retrieve_many(self, texts: list[str], k: int = 2,
                      exclude: list[set[str]] | None = None) -> list[list[Lesson]]:
        """`retrieve` for many questions at once (one batched BM25 pass)."""
        if not texts:
            return []
        if not self.rows or k < 1:
            return [[] for _ in texts]
        exclude = exclude or [set() for _ in texts]
        extra = max((len(e) for e in exclude), default=0)
        n = min(len(self.rows), READ_ROWS * k + extra)
        import bm25s

        queries = bm25s.tokenize([t or " " for t in texts], stopwords="en", show_progress=False, return_ids=False)
        with self._lock:
            ids, scores = self.retriever.retrieve(queries, k=n, show_progress=False, n_threads=1)
        out = []
        for row_ids, row_scores, skip in zip(ids, scores, exclude):
            lessons, skills = [], set()
            for i, s in zip(row_ids.tolist(), row_scores.tolist()):
                r = self.rows[i]
                if s <= 0 or r["pid"] in skip or r["skill"] in skills:
                    continue
                skills.add(r["skill"])
                lessons.append(Lesson(r["title"], r["lecture"], r["solution"], r["pid"], round(float(s), 4),
                                      r["skill"]))
                if len(lessons) == k:
                    break
            out.append(lessons)
        return out

    # ---- the cache in the app home ----------------------------------------------------------------

    def save(self, folder: Path) -> None:
        from core.files import atomic_dir

        with atomic_dir(folder, overwrite=True) as tmp:
            self.retriever.save(str(tmp / "bm25"), allow_pickle=False)
            (tmp / "rows.json").write_text(json.dumps({"version": CACHE_VERSION, "rows": self.rows},
                                                      ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LessonIndex:
        """Read a cached index back; any defect is a ValueError (the caller rebuilds)."""
        import bm25s

        try:
            data = json.loads((folder / "rows.json").read_text(encoding="utf-8"))
            rows = data["rows"]
            if data.get("version") != CACHE_VERSION or not isinstance(rows, list) or not all(
                    isinstance(r, dict) and all(isinstance(r.get(f), str) for f in
                                                ("pid", "title", "skill", "lecture", "solution")) for r in rows):
                raise ValueError("rows.json has the wrong shape")
            retriever = bm25s.BM25.load(str(folder / "bm25"), allow_pickle=False, load_corpus=False)
            sc = retriever.scores
            if int(sc["num_docs"]) != len(rows) or int(sc["indptr"][-1]) != len(sc["data"]) or \
                    len(sc["indices"]) != len(sc["data"]) or \
                    (len(sc["data"]) and int(sc["indices"].max()) >= len(rows)):
                raise ValueError("the BM25 arrays do not match the rows")
        except (OSError, KeyError, TypeError, ValueError, AttributeError, EOFError) as e:
            raise ValueError(f"unreadable lesson index in {folder}: {e}") from e
        return cls(retriever, rows)


_indexes: dict[str, LessonIndex] = {}
_indexes_lock = threading.Lock()


def cache_key(spec: str, questions: list[Question] | None = None) -> str:
    """A source's version: spec and file stamp, or (the Hub, which has no files of ours) its content."""
    from core.data.records import content_hash
    from core.data.sources import source_stamp

    stamp = source_stamp(spec)
    if not stamp and questions is not None:
        stamp = content_hash(questions)
    return hashlib.sha256(f"{CACHE_VERSION}|{spec}|{stamp}".encode()).hexdigest()[:20]


def lesson_index(source: str | None = None, progress: Progress | None = None, actor=None) -> LessonIndex:
    """The lesson index of a source (default: the app's), from memory, the app home's cache, or built
    (seconds) and cached; `progress(message)` says which."""
    from core.data.sources import check_source, default_source, load_source, source_stamp
    from core.home import area

    say = progress or (lambda m: None)
    spec = str(source or default_source()).strip()
    check_source(spec, actor)
    quick = f"{spec}|{source_stamp(spec)}"  # a file stat: every chat message asks, the Hub's hash is once
    with _indexes_lock:
        if quick in _indexes:
            return _indexes[quick]
        questions = load_source(spec, actor=actor) if spec == "hub" else None
        key = cache_key(spec, questions)
        folder = area("cache") / "lessons" / key
        index = None
        if folder.exists():
            try:
                index = LessonIndex.load(folder)
                say(f"Lessons of {spec}: {len(index):,} rows (cached index)")
            except ValueError:
                say(f"The cached lesson index of {spec} is damaged; building it again")
        if index is None:
            say(f"Loading the questions of {spec}…")
            questions = questions if questions is not None else load_source(spec, actor=actor)
            say(f"Indexing the lessons of {len(questions):,} questions…")
            index = LessonIndex.from_questions(questions)
            index.save(folder)
            say(f"Lessons of {spec}: {len(index):,} rows indexed")
        _indexes[quick] = index
        return index


def retrieve(question_text: str, k: int = 2, source: str | None = None, exclude: Iterable[str] = (),
             progress: Progress | None = None) -> list[Lesson]:
    """The best `k` lessons of `source` (default: the app's) for a question."""
    return lesson_index(source, progress).retrieve(question_text, k, exclude)


def clear_memory() -> None:
    """Forget indexes held in this process (tests; the app home's cache stays)."""
    with _indexes_lock:
        _indexes.clear()
