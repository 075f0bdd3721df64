"""Progress of long work on the command line: download, import, convert, train, evaluate, sweep.

On a terminal: a tqdm bar with the count, rate and ETA. When stderr is not a terminal (a CI log, a pipe,
a file): one plain line every few seconds (`SQA_PROGRESS_SECONDS`, default 5) and one when done, never a
carriage return. With `python -m core --quiet ...` (`set_quiet`): nothing. Messages written through
`say` go above a live bar instead of breaking it. The libraries' own bars (transformers' "Loading
weights", the Hub's downloads) are turned off where they would be noise, off a terminal or when quiet
(`library_bars`); on a terminal they draw during the stages that have no bar of ours (loading,
downloading), so nothing is drawn twice.

    from core.progress import Bar, say
    with Bar("evaluating", total=len(questions), unit="question") as bar:
        for batch in batches:
            ...
            bar.update(len(batch))             # or bar.set(done, total); bar.callback() fits (done, total) hooks
    say("results written")
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

_state = {"quiet": False}
_active: list["Bar"] = []  # open bars, innermost last (say() writes above them)


def set_quiet(quiet: bool) -> None:
    """Silence (or restore) every bar and `say` message of this process; results are still printed."""
    _state["quiet"] = bool(quiet)
    library_bars()


def is_quiet() -> bool:
    return _state["quiet"]


def is_terminal(stream: TextIO | None = None) -> bool:
    stream = stream or sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real file
        return False


def seconds_between_lines() -> float:
    try:
        return max(0.0, float(os.environ.get("SQA_PROGRESS_SECONDS", "5")))
    except ValueError:
        return 5.0


def library_bars(stream: TextIO | None = None) -> bool:
    """Turn transformers' and the Hub's own tqdm bars on only on a terminal and when not quiet; returns
    whether they are on."""
    on = not is_quiet() and is_terminal(stream)
    try:
        from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

        (enable_progress_bars if on else disable_progress_bars)()
    except ImportError:
        pass
    if "datasets" in sys.modules:  # the Hub dataset's download and "Generating split" bars
        import datasets

        (datasets.enable_progress_bars if on else datasets.disable_progress_bars)()
    elif not on:
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")  # read when datasets is imported
    if "transformers" in sys.modules:  # otherwise it reads the Hub's setting when imported (importing it costs seconds)
        from transformers.utils import logging as hf_logging

        (hf_logging.enable_progress_bar if on else hf_logging.disable_progress_bar)()
    return on


def say(message: str, stream: TextIO | None = None) -> None:
    """A one-line message (a stage, a note) on stderr, above any live bar; nothing when quiet."""
    if not is_quiet():
        echo(message, stream or sys.stderr)


def echo(message: str, stream: TextIO | None = None) -> None:
    """Print a line (a log line, a result) without breaking a live bar, whatever the quiet setting."""
    stream = stream or sys.stdout
    if any(b.terminal for b in _active):
        from tqdm import tqdm

        tqdm.write(message, file=stream)
    else:
        print(message, file=stream, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class Bar:
    """Progress of one piece of work counted in units (questions, steps, files, tensors)."""

    def __init__(self, desc: str, total: int | None = None, unit: str = "item", *, stream: TextIO | None = None,
                 every: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.desc, self.total, self.unit = desc, total, unit
        self.stream = stream or sys.stderr
        self.every = seconds_between_lines() if every is None else every
        self.clock = clock
        self.done, self.postfix = 0, ""
        self.started = self.last_line = clock()
        self.quiet = is_quiet()
        self.terminal = not self.quiet and is_terminal(self.stream)
        self.closed = False
        self._tqdm = None
        if self.terminal:
            from tqdm import tqdm

            self._tqdm = tqdm(total=total, desc=desc, unit=f" {unit}", file=self.stream, dynamic_ncols=True,
                              leave=True, mininterval=0.2)
        _active.append(self)

    # ---- counting ---------------------------------------------------------------------------------
    def update(self, n: int = 1, postfix: str | None = None) -> None:
        self.set(self.done + n, postfix=postfix)

    def set(self, done: int, total: int | None = None, postfix: str | None = None) -> None:
        """Absolute progress: `done` units of `total` (a total may change, e.g. an estimate of steps)."""
        if self.closed:
            return
        if total is not None and total != self.total:
            self.total = total
            if self._tqdm is not None:
                self._tqdm.total = total
        if postfix is not None:
            self.postfix = postfix
            if self._tqdm is not None:
                self._tqdm.set_postfix_str(postfix, refresh=False)
        if self._tqdm is not None:
            self._tqdm.update(done - self.done)
        self.done = done
        if not self.terminal and not self.quiet and self.clock() - self.last_line >= self.every:
            self._line()

    def callback(self) -> Callable[[int, int], None]:
        """A `progress(done, total)` function for core's hooks (evaluation, sweeps)."""
        return lambda done, total: self.set(done, total)

    # ---- the plain line ---------------------------------------------------------------------------
    def rate(self) -> float:
        return self.done / max(self.clock() - self.started, 1e-9)

    def line(self, final: bool = False) -> str:
        """The non-terminal line: `evaluating: 32/100 questions (32%), 4.10 questions/s, ETA 0:17`."""
        elapsed = self.clock() - self.started
        rate = self.rate()
        count = f"{self.done}/{self.total}" if self.total else f"{self.done}"
        text = f"{self.desc}: {count} {self.unit}s"
        if self.total:
            text += f" ({100 * self.done / self.total:.0f}%)"
        text += f", {rate:.2f} {self.unit}s/s"
        if final:
            text += f", done in {_duration(elapsed)}"
        elif self.total and rate > 0 and self.done < self.total:
            text += f", ETA {_duration((self.total - self.done) / rate)}"
        return text + (f", {self.postfix}" if self.postfix else "")

    def _line(self, final: bool = False) -> None:
        self.last_line = self.clock()
        print(self.line(final), file=self.stream, flush=True)

    # ---- closing ----------------------------------------------------------------------------------
    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._tqdm is not None:
            self._tqdm.close()  # leaves the finished bar drawn on its own line
        elif not self.quiet:
            self._line(final=True)
        if self in _active:
            _active.remove(self)

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tqdm_class(stream: TextIO | None = None) -> type | None:
    """For a library that takes `tqdm_class=` (huggingface_hub's snapshot_download): None on a terminal
    or when quiet (the library's own bar, or none), else a tqdm that writes `Bar`-style plain lines."""
    if is_quiet() or is_terminal(stream):
        return None
    from tqdm import tqdm

    out = stream or sys.stderr

    class LineTqdm(tqdm):  # counts like tqdm, draws nothing, prints a line every few seconds and at the end
        def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - tqdm's signature
            kwargs.update(disable=False, file=open(os.devnull, "w"))  # noqa: SIM115 - closed in close()
            super().__init__(*args, **kwargs)
            self._line_at, self._printed = time.monotonic(), -1

        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            if time.monotonic() - self._line_at >= seconds_between_lines():
                self._line_at, self._printed = time.monotonic(), self.n
                print(self._plain(), file=out, flush=True)
            return shown

        def _plain(self) -> str:
            return self.format_meter(**{**self.format_dict, "ncols": 0, "bar_format": None}).strip()

        def close(self) -> None:
            if not self.disable and self.n and self.n != self._printed:
                print(self._plain(), file=out, flush=True)
            fp = self.fp
            super().close()
            fp.close()

    return LineTqdm
