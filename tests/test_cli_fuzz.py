"""Every command of `python -m core` given malformed input ends in one line on stderr and a non-zero
exit, never a traceback: bad or wrongly typed data fields, impossible output paths, unsupported
devices, a full disk, nonsensical model configs, unknown names, bad flags. In-process (core.__main__.main)
so that hundreds of cases stay cheap; a few through a real subprocess."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.__main__ import main
from core.home import PROJECT_ROOT, area
from core.jobs import runs

BAD_ROWS = [
    '{"question": 5, "choices": "abc", "answer": "x"}',
    '{"question": "Q?", "choices": ["a", "b"], "answer": 7}',
    '{"question": "Q?", "choices": [1, {"x": 2}], "answer": 0}',
    '{"question": "Q?", "choices": ["a", "b"], "answer": "zero", "split": 3}',
    '{"question": null, "choices": null}',
    '[1, 2, 3]',
    '"just a string"',
    '{"question": "Q?", "choices": ["a", "b"], "answer": 0, "grade": {"a": 1}, "hint": ["x"]}',
    "not json at all",
    '{"question": "Q?", "choices": ["a"], "answer": 0}',
]


@pytest.fixture
def bad_files(tmp_path) -> list[Path]:
    out = []
    for i, row in enumerate(BAD_ROWS):
        p = tmp_path / f"bad{i}.jsonl"
        p.write_text(row + "\n")
        out.append(p)
    (tmp_path / "bad.csv").write_text("question,choices,answer\nQ?,notalist,9\n")
    (tmp_path / "bad.json").write_text('{"problems": 5}')
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "binary.jsonl").write_bytes(b"\xff\xfe\x00\x01garbage")
    return out + [tmp_path / n for n in ("bad.csv", "bad.json", "empty.jsonl", "binary.jsonl")]


def one_line_error(argv: list[str], capsys) -> str:
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse
        rc = e.code
    captured = capsys.readouterr()
    err = captured.err
    assert rc not in (0, None), f"{argv} succeeded: {captured.out[-300:]}"
    assert "Traceback" not in err, f"{argv}: {err}"
    # progress lines may come first (a download, a conversion); the error itself is one line, the last
    lines = err.splitlines()
    assert err.endswith("\n") and lines[-1].startswith("error: ") and err.count("error: ") == 1, f"{argv}: {err!r}"
    return lines[-1]


def test_malformed_data_files_on_every_command_that_reads_data(bad_files, tiny_model_dir, tmp_path, capsys):
    for f in bad_files:
        for argv in (["data", "stats", "--source", str(f)],
                     ["data", "subset", "--source", str(f), "--out", str(tmp_path / "o")],
                     ["model", "tiny", "--data", str(f), "--out", str(tmp_path / "t"), "--size", "xs"],
                     ["eval", "--model", str(tiny_model_dir), "--data", str(f)],
                     ["train", "--model", str(tiny_model_dir), "--data", str(f), "--minutes", "0.1"]):
            one_line_error(argv, capsys)
    assert not (tmp_path / "o").exists() and not (tmp_path / "t").exists()
    assert runs.list_runs(area("runs")) == []


def test_bad_flags_names_and_values(tiny_model_dir, tmp_path, capsys):
    cases = [
        [], ["nosuch"], ["data"], ["data", "stats", "--split", "nosuch"], ["data", "stats", "--source", ""],
        ["data", "stats", "--source", "subset:nosuch"], ["data", "stats", "--source", "/no/such/file.jsonl"],
        ["data", "subset", "--n", "many", "--out", str(tmp_path / "x")],
        ["data", "subset", "--n", "-5", "--out", str(tmp_path / "x")],
        ["data", "subset", "--name", "../../escape"],
        ["data", "subset", "--grade-min", "9", "--grade-max", "2", "--out", str(tmp_path / "x")],
        ["model", "convert", "/no/such/folder"], ["model", "convert", str(tmp_path)],
        ["model", "tiny", "--size", "huge"], ["model", "tiny", "--seed", "x"],
        ["model", "estimate", "--model", "nosuch-model"], ["model", "estimate", "--batch", "0"],
        ["model", "estimate", "--batch", "-3"], ["model", "estimate", "--seq-len", "0"],
        ["model", "estimate", "--lora-rank", "0", "--lora"], ["model", "estimate", "--device", "tpu"],
        ["train", "--model", str(tiny_model_dir), "--device", "tpu"],
        ["train", "--model", str(tiny_model_dir), "--device", "cuda:x"],
        ["train", "--model", str(tiny_model_dir), "--lr", "-1"],
        ["train", "--model", str(tiny_model_dir), "--lr", "nan"],
        ["train", "--model", str(tiny_model_dir), "--batch-size", "0"],
        ["train", "--model", str(tiny_model_dir), "--grad-accum", "-2"],
        ["train", "--model", str(tiny_model_dir), "--max-seq-len", "1"],
        ["train", "--model", str(tiny_model_dir), "--minutes", "-1"],
        ["train", "--model", str(tiny_model_dir), "--epochs", "0"],
        ["train", "--model", str(tiny_model_dir), "--optimizer", "rmsprop"],
        ["train", "--model", str(tiny_model_dir), "--precision", "fp8"],
        ["train", "--model", str(tiny_model_dir), "--recipe", "nosuch"],
        ["train", "--model", str(tiny_model_dir), "--val-fraction", "1.5"],
        ["train", "--model", "run:nosuch"], ["train", "--model", "run:../../etc"],
        ["train", "--model", "not a model name"],
        ["eval", "--model", str(tiny_model_dir), "--data", "sample", "--device", "tpu"],
        ["eval", "--model", str(tiny_model_dir), "--data", "sample", "--limit", "0"],
        ["eval", "--model", str(tiny_model_dir), "--data", "sample", "--batch-size", "0"],
        ["eval", "--model", str(tiny_model_dir), "--data", "sample", "--split", "nosuch"],
        ["eval", "--model", "run:nosuch", "--data", "sample"],
        ["chat", "--model", "run:nosuch", "hello"], ["chat", "--model", str(tiny_model_dir), ""],
        ["chat", "--model", str(tiny_model_dir), "--max-new-tokens", "0", "hi"],
        ["chat", "--model", str(tiny_model_dir), "--temperature", "-1", "hi"],
        ["runs", "status", "nosuch"], ["runs", "stop", "nosuch"], ["runs", "resume", "nosuch"],
        ["runs", "delete", "nosuch"], ["runs", "delete", "../.."], ["runs", "status", "run:../x"],
        ["publish", "nosuch", "--repo", "me/x"], ["publish", "nosuch", "--repo", "not a repo"],
        ["model", "import", "/no/such.gguf", str(tmp_path / "imp")], ["model", "import", str(tiny_model_dir),
                                                                        str(tmp_path / "imp")],
        ["export", "run:nosuch", "--gguf", str(tmp_path / "x.gguf")],
        ["export", str(tiny_model_dir), "--gguf", str(tmp_path / "x.gguf"), "--quant", "q2"],
        ["export", str(tiny_model_dir), "--gguf", str(tmp_path / "x.gguf")],  # NanoChat: no llama.cpp architecture
    ]
    for argv in cases:
        one_line_error(argv, capsys)


def test_impossible_or_unwritable_output_paths(tiny_model_dir, tmp_path, capsys):
    afile = tmp_path / "a-file"
    afile.write_text("x")
    for out in (str(afile / "below"), "/proc/forbidden", str(afile)):
        one_line_error(["data", "subset", "--n", "3", "--out", out], capsys)
        one_line_error(["model", "tiny", "--size", "xs", "--out", out], capsys)
        one_line_error(["eval", "--model", str(tiny_model_dir), "--data", "sample", "--limit", "2", "--out",
                        out + "/results.json"], capsys)
        one_line_error(["train", "--model", str(tiny_model_dir), "--minutes", "0.1", "--out", out + "/run"], capsys)
    assert afile.read_text() == "x"


def test_a_full_disk_is_one_clear_line(monkeypatch, tmp_path, capsys):
    import core.files

    real = os.fdopen

    def full(fd, *a, **k):
        f = real(fd, *a, **k)

        class Full:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                f.close()

            def write(self, data):
                raise OSError(errno.ENOSPC, "No space left on device")

            def __getattr__(self, name):
                return getattr(f, name)

        return Full()

    monkeypatch.setattr(core.files.os, "fdopen", full)
    err = one_line_error(["data", "subset", "--n", "3", "--out", str(tmp_path / "s")], capsys)
    assert "disk" in err.lower() and "full" in err.lower()
    assert not (tmp_path / "s").exists() and not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_nonsensical_model_configs(tiny_model_dir, tmp_path, capsys):
    for i, change in enumerate(({"hidden_size": -4}, {"num_hidden_layers": "many"}, {"vocab_size": 0},
                                {"model_type": "llama-9000"}, None)):
        m = tmp_path / f"m{i}"
        import shutil

        shutil.copytree(tiny_model_dir, m)
        if change is None:
            (m / "config.json").write_text("{not json")
        else:
            cfg = json.loads((m / "config.json").read_text())
            cfg.update(change)
            (m / "config.json").write_text(json.dumps(cfg))
        one_line_error(["eval", "--model", str(m), "--data", "sample", "--limit", "2"], capsys)
        one_line_error(["chat", "--model", str(m), "hello"], capsys)
        one_line_error(["model", "estimate", "--model", str(m)], capsys)
        one_line_error(["train", "--model", str(m), "--minutes", "0.1"], capsys)


def test_through_a_real_process_the_error_is_one_line(tmp_path):
    for argv in (["data", "stats", "--source", str(tmp_path / "nope.jsonl")], ["runs", "delete", "nosuch"],
                 ["train", "--model", "tiny", "--device", "tpu"]):
        out = subprocess.run([sys.executable, "-m", "core", *argv], capture_output=True, text=True, cwd=PROJECT_ROOT)
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr


def test_a_command_that_must_wait_for_the_device_says_so_at_once(tiny_model_dir, capsys):
    holder = runs.create_run(area("runs"), {}, name="busy-run")
    with runs.device_slot(holder):
        import threading

        from core.__main__ import main as cli_main

        result = {}

        def run():
            result["rc"] = cli_main(["eval", "--model", str(tiny_model_dir), "--data", "sample", "--limit", "2"])

        t = threading.Thread(target=run, daemon=True)
        t.start()
        t.join(3)
        err = capsys.readouterr().err
        assert "waiting for the device, in use by busy-run" in err
    t.join(120)
    assert result.get("rc") == 0


def test_a_runs_folder_that_is_not_a_folder_is_one_line_and_a_failure(studio_home, tmp_path, capsys):
    not_a_folder = tmp_path / "runs-file"
    not_a_folder.write_text("x")
    assert "runs-file is not a folder" in one_line_error(["runs", "--root", str(not_a_folder), "list"], capsys)
    assert "does not exist" in one_line_error(["runs", "--root", str(tmp_path / "nosuch"), "list"], capsys)
    assert not (tmp_path / "nosuch").exists()
    studio_home.mkdir(parents=True, exist_ok=True)
    (studio_home / "runs").write_text("x")  # the home's own runs area is a file
    assert "runs is not a folder" in one_line_error(["runs", "list"], capsys)
    assert (studio_home / "runs").read_text() == "x"
