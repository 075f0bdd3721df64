"""core.data.sources: every source format gives the same Question records; bad input gives a clear StudioError."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from core.data import formats, sources
from core.data.records import Question
from core.data.sources import load_source, source_splits
from core.errors import StudioError

HF_COLUMNS = ["question", "choices", "answer", "hint", "task", "grade", "subject", "topic", "category", "skill",
              "lecture", "solution"]


def by_pid(qs: list[Question]) -> list[Question]:
    return sorted(qs, key=lambda q: int(q.pid))


@pytest.fixture(autouse=True)
def _fresh_cache():
    sources.clear_cache()
    yield
    sources.clear_cache()


@pytest.fixture
def original(shared_scienceqa) -> Path:
    return shared_scienceqa / "original"


def hf_rows(original: Path) -> dict[str, list[dict]]:
    """The 150 problems as rows of the HF copy: no pid, pid_splits order, image as PNG bytes or None
    (the sample lacks train/val images: those image problems get a small stand-in PNG)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "gray").save(buf, format="PNG")
    problems = json.loads((original / "problems.json").read_text())
    splits = json.loads((original / "pid_splits.json").read_text())
    out = {}
    for split, hf_name in [("train", "train"), ("val", "validation"), ("test", "test")]:
        rows = []
        for pid in splits[split]:
            p = problems[pid]
            png = original / "images" / split / pid / "image.png"
            data = (png.read_bytes() if png.exists() else buf.getvalue()) if p["image"] else None
            image = {"bytes": data, "path": "image.png"} if data else None
            rows.append({"image": image, **{k: p[k] for k in HF_COLUMNS}})
        out[hf_name] = rows
    return out


@pytest.fixture
def parquet_folder(original, tmp_path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "ScienceQA"
    (folder / "data").mkdir(parents=True)
    for hf_name, rows in hf_rows(original).items():
        pq.write_table(pa.Table.from_pylist(rows), folder / "data" / f"{hf_name}-00000-of-00001.parquet")
    return folder


def test_original_release_loads_splits_captions_and_images(original):
    qs = load_source(str(original))
    assert len(qs) == 150
    assert Counter(q.split for q in qs) == {"train": 50, "val": 50, "test": 50}
    assert source_splits(str(original)) == ["train", "val", "test"]
    with_image = [q for q in qs if q.has_image]
    assert len(with_image) == 67 and all(q.caption for q in with_image)
    on_disk = [q for q in qs if q.image is not None]
    assert len(on_disk) == 24 and all(Path(q.image).exists() and q.split == "test" for q in on_disk)
    assert len(load_source(str(original), split="validation")) == 50


def test_test_qcm_derived_fields_match_the_leaderboard(shared_scienceqa):
    qs = load_source(str(shared_scienceqa / "test_qcm.jsonl"), meta=shared_scienceqa / "full")
    assert len(qs) == 4241 and {q.split for q in qs} == {"test"}
    groups = Counter(g for q in qs for g in q.context_groups)
    assert (groups["TXT"], groups["IMG"], groups["NO"]) == (2046, 2017, 1435)
    assert Counter(len(q.choices) for q in qs) == {2: 2228, 3: 971, 4: 1004, 5: 38}


def test_parquet_folder_in_hf_layout_equals_the_original(original, parquet_folder):
    shutil.copy(original / "pid_splits.json", parquet_folder)
    shutil.copy(original / "captions.json", parquet_folder)
    assert by_pid(load_source(str(parquet_folder))) == by_pid(load_source(str(original)))
    qs = load_source(str(parquet_folder))
    assert sum(isinstance(q.image, bytes) for q in qs) == 67


def test_parquet_without_split_file_names_rows_by_position(parquet_folder):
    qs = load_source(str(parquet_folder))
    assert [q.pid for q in qs[:2]] == ["train-0", "train-1"] and qs[50].pid == "val-0"


def test_hub_rows_recover_pids_and_captions_from_the_official_files(original, monkeypatch):
    """A real in-memory `datasets.DatasetDict` (Image feature, no pid) stands in for the Hub download."""
    import datasets

    fake = datasets.DatasetDict({name: datasets.Dataset.from_list(rows).cast_column("image", datasets.Image())
                                 for name, rows in hf_rows(original).items()})
    monkeypatch.setattr("core.hub.hub_reachable", lambda *a, **k: True)
    monkeypatch.setattr(datasets, "load_dataset", lambda name, **kw: fake if name == "derek-thomas/ScienceQA" else None)
    qs = load_source("hub", meta=original)
    assert by_pid(qs) == by_pid(load_source(str(original)))
    assert sum(isinstance(q.image, bytes) for q in qs) == 67 and load_source("hub", "val", meta=original)[0].split == "val"


def test_hf_rows_accept_pil_images(original):
    import io

    from PIL import Image

    rows = {name: [{**r, "image": Image.open(io.BytesIO(r["image"]["bytes"])) if r["image"] else None} for r in rs]
            for name, rs in hf_rows(original).items()}
    qs = formats.hf_rows_to_questions(rows, original)
    assert by_pid(qs) == by_pid(load_source(str(original))) and sum(q.image is not None for q in qs) == 67


def test_hub_fails_fast_and_clearly_offline(monkeypatch):
    import datasets

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("must not try the network"))
    with pytest.raises(StudioError, match="HF_HUB_OFFLINE is set"):
        load_source("hub")


def test_rows_files_jsonl_json_csv_give_the_same_records(original, tmp_path):
    qs = load_source(str(original))
    rows = [q.to_dict() for q in qs]
    (tmp_path / "q.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (tmp_path / "q.json").write_text(json.dumps(rows))
    with open(tmp_path / "q.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({**r, "choices": json.dumps(r["choices"])} for r in rows)
    for name in ("q.jsonl", "q.json", "q.csv"):
        assert load_source(str(tmp_path / name)) == qs, name


def test_rows_file_with_missing_metadata_loads(tmp_path):
    (tmp_path / "few.csv").write_text("question,choices,answer\nIs ice cold?,yes|no,A\n")
    [q] = load_source(str(tmp_path / "few.csv"))
    assert (q.pid, q.choices, q.answer, q.subject, q.split, q.has_image) == ("row1", ["yes", "no"], 0, "", "", False)


def test_sample_source_reads_the_embedded_jsonl(monkeypatch, tmp_path):
    path = tmp_path / "sample.jsonl"
    path.write_text(json.dumps({"pid": "s1", "question": "Q?", "choices": ["a", "b"], "answer": 1, "split": "train"}) + "\n")
    monkeypatch.setattr(sources, "SAMPLE_PATH", path)
    assert [q.pid for q in load_source("sample")] == ["s1"]
    assert sources.default_source() == "sample"


def test_the_committed_sample_loads_when_present():
    if not sources.SAMPLE_PATH.exists():
        pytest.skip("assets/sample/scienceqa_sample.jsonl is not generated yet")
    qs = load_source("sample")
    assert qs and set(source_splits("sample")) <= {"train", "val", "test"}


def test_cache_reloads_when_the_file_changes(tmp_path):
    import os

    path = tmp_path / "q.jsonl"
    row = {"pid": "1", "question": "Q?", "choices": ["a", "b"], "answer": 0}
    path.write_text(json.dumps(row) + "\n")
    assert load_source(str(path))[0].answer == 0
    path.write_text(json.dumps({**row, "answer": 1}) + "\n")
    os.utime(path, (1e9, 1e9))
    assert load_source(str(path))[0].answer == 1


@pytest.mark.parametrize("content, match", [
    ('{"pid": "1", "question": "Q", "choices": ["a", "b"], "answer": 0}\n{"pid": "2", "quest', r"line 2 is not valid JSON"),
    ('{"pid": "7", "question": "Q", "choices": ["a", "b"], "answer": 5}\n', r"line 1.*question 7.*out of range"),
    ('{"pid": "8", "question": "Q", "choices": ["a", "b"]}\n', r"missing required field\(s\): answer"),
])
def test_bad_jsonl_rows_name_the_file_and_line(tmp_path, content, match):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(StudioError, match=match) as e:
        load_source(str(path))
    assert "bad.jsonl" in str(e.value)


def test_truncated_json_and_corrupt_parquet_are_clear_errors(original, parquet_folder, tmp_path):
    trunc = tmp_path / "problems"
    trunc.mkdir()
    (trunc / "problems.json").write_text((original / "problems.json").read_text()[:5000])
    with pytest.raises(StudioError, match="problems.json is corrupt"):
        load_source(str(trunc))
    f = parquet_folder / "data" / "test-00000-of-00001.parquet"
    f.write_bytes(f.read_bytes()[:1000])
    with pytest.raises(StudioError, match="test-00000-of-00001.parquet is not a readable parquet"):
        load_source(str(parquet_folder))


def test_missing_paths_wrong_folders_and_missing_splits(original, tmp_path, parquet_folder):
    with pytest.raises(StudioError, match="does not exist"):
        load_source(str(tmp_path / "nope.jsonl"))
    with pytest.raises(StudioError, match="is not a ScienceQA folder"):
        load_source(str(tmp_path))
    with pytest.raises(StudioError, match="No saved subset named 'gone'"):
        load_source("subset:gone")
    with pytest.raises(StudioError, match="Invalid subset name"):
        load_source("subset:../escape")
    with pytest.raises(StudioError, match="available splits: train, val, test"):
        load_source(str(original), split="minitest")
    with pytest.raises(StudioError, match="lists 12726 'train' pids but"):
        load_source(str(parquet_folder), meta=original.parent / "full")


def test_out_of_range_answer_in_problems_json_names_the_pid(original, tmp_path):
    problems = json.loads((original / "problems.json").read_text())
    problems["5"]["answer"] = 9
    (tmp_path / "problems.json").write_text(json.dumps(problems))
    with pytest.raises(StudioError, match="question 5: answer index 9 is out of range"):
        load_source(str(tmp_path))


def test_saved_subset_is_a_source_with_its_images(original):
    from core.data.subsets import save_subset

    qs = [q for q in load_source(str(original), "test") if q.has_image]
    folder = save_subset("img-test", qs, {"source": str(original)})
    back = load_source("subset:img-test")
    assert back == qs and load_source(str(folder)) == qs
    assert sum(q.image is not None and Path(q.image).exists() for q in back) == 24
    assert isinstance(back[0], Question)


def test_threads_loading_sources_at_once_never_break_the_cache(monkeypatch):
    """The Tutor page, the lesson index and the calibration thread load sources at the same time (a race
    once stopped the Tutor page with 'dictionary changed size during iteration'): while one thread loads a
    source into the cache, another thread's clear waits until it is done, and the load returns its rows.
    (It used to be 4 threads x 40 loads: 18 s, and it passed with the lock removed.)"""
    import threading

    real_load = sources._load
    loading, cleared = threading.Event(), threading.Event()
    cleared_during_load, loaded = [], []

    def load_then_linger(spec, meta):
        questions = real_load(spec, meta)
        loading.set()
        cleared_during_load.append(cleared.wait(0.5))  # a clear that does not wait gets in here
        return questions

    def clear():
        sources.clear_cache()
        cleared.set()

    sources.clear_cache()
    monkeypatch.setattr(sources, "_load", load_then_linger)
    loader = threading.Thread(target=lambda: loaded.append(sources.load_source("sample", "test")))
    loader.start()
    assert loading.wait(60)
    clearer = threading.Thread(target=clear)
    clearer.start()
    loader.join(60)
    clearer.join(60)
    assert cleared_during_load == [False] and cleared.is_set()
    assert loaded and loaded[0] and all(q.split == "test" for q in loaded[0])
