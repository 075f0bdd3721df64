"""The class link as a job: start, watch and stop the class-link server (classroom.py) from the Tutor
page, with no gradio import.

The server runs like a training run (core.jobs.runner: launched in its own session, its states written by
the runner, its pid and start time, a heartbeat, `terminate` only after checking it is the process this
app started), in the job folder `<home>/classroom`; once serving it writes its addresses as the job's
result, which `status()` reads. A password travels to it in the environment (PASSWORD_ENV), never on
the command line; so does an OpenAI-compatible endpoint's key.

    link = start("tiny", share=False); link = wait_until_serving(); print(link.url); stop()
"""

import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core import access
from core.errors import StudioError
from core.home import PROJECT_ROOT, area
from core.jobs import lifecycle, runner, runs

PASSWORD_ENV = "SQA_CLASS_PASSWORD"


@dataclass
class ClassLink:
    state: str  # 'starting' | 'running' | 'failed'
    pid: int | None
    local_url: str | None = None
    share_url: str | None = None
    share_error: str | None = None
    model: str = ""
    password: bool = False
    log_tail: str = ""

    @property
    def url(self) -> str | None:
        return self.share_url or self.local_url


def _folder() -> Path:
    return area("classroom")


def start(model: str, share: bool = True, password: str | None = None, port: int | None = None,
          host: str = "127.0.0.1", system_prompt: str | None = None, max_new_tokens: int | None = None,
          rate: int = 10, grade: int | None = None, actor: access.Actor | None = None,
          lessons: bool = True, endpoint=None) -> ClassLink:
    """Start the class-link server in the background (stopping one already running). `endpoint` (a
    core.serving.endpoint.Endpoint) replaces SQA_TUTOR_ENDPOINT for this server; its key travels in the
    environment, never on the command line."""
    from core.models.locations import local_model_folder

    access.require(actor, "Starting a class link")
    if local_model_folder(model) is None:
        raise StudioError(f"{model} is not here yet: open it on the Tutor page (or the Models page) first.")
    stop(actor)
    folder = _folder()
    runs.results_path(folder).unlink(missing_ok=True)  # the server's addresses are the job's result
    argv = [sys.executable, str(PROJECT_ROOT / "classroom.py"), "--model", model, "--host", host,
            "--state", str(runs.results_path(folder)), "--rate", str(rate)]
    argv += ["--max-new-tokens", str(max_new_tokens)] if max_new_tokens else []
    argv += ["--grade", str(grade)] if grade else []
    argv += [] if lessons else ["--lessons", "off"]
    argv += ["--share"] if share else []
    argv += ["--port", str(port)] if port else []
    argv += ["--system", system_prompt] if system_prompt else []
    # The server needs no Hub token: it serves a model already here.
    env = dict(GRADIO_ANALYTICS_ENABLED="False", GRADIO_TEMP_DIR=str(folder / "tmp"), HF_HUB_DISABLE_TELEMETRY="1")
    if endpoint is not None:  # the server's key travels in the environment, never on the command line
        from core.serving.endpoint import ENDPOINT_ENV, KEY_ENV, MODEL_ENV

        env.update({ENDPOINT_ENV: endpoint.url, MODEL_ENV: endpoint.model, KEY_ENV: endpoint.api_key})
    if password:
        env[PASSWORD_ENV] = password
    with contextlib.suppress(FileNotFoundError):
        (folder / lifecycle.LOG).unlink()  # one server's log at a time
    runs.write_config(folder, {"kind": "classlink", "model": model, "password": bool(password), "share": share,
                               "host": host, "created": time.time()})
    pid = runner.launch(folder, argv, env=env, drop=runner.TOKEN_VARS + (PASSWORD_ENV,))
    return ClassLink("starting", pid, model=model, password=bool(password))


def status() -> ClassLink | None:
    """The class link's state, or None when none was started."""
    folder = _folder()
    if not runs.launched(folder):
        return None
    try:
        config = runs.read_config(folder)
    except StudioError:
        config = {}
    model, password = str(config.get("model", "")), bool(config.get("password"))
    st = lifecycle.read_status(folder)
    if st.terminal:
        return ClassLink("failed", st.pid, model=model, log_tail=st.log_tail or lifecycle.log_tail(folder, 20))
    try:
        s = runs.read_results(folder) if runs.has_results(folder) else None
    except StudioError:
        s = None
    if not isinstance(s, dict):
        return ClassLink("starting", st.pid, model=model, password=password)
    return ClassLink("running", st.pid, s.get("local_url"), s.get("share_url"), s.get("share_error"),
                     str(s.get("model", model)), bool(s.get("password")))


def wait_until_serving(timeout: float = 90.0) -> ClassLink:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        link = status()
        if link is None or link.state != "starting":
            if link is None or link.state == "failed":
                raise StudioError("The class link did not start:\n" + (link.log_tail if link else ""))
            return link
        time.sleep(0.3)
    raise StudioError(f"The class link did not start within {timeout:.0f} s; see its log on the Tutor page.")


def stop(actor: access.Actor | None = None) -> None:
    """Stop the class-link server (its whole process group, once it is checked to be ours)."""
    access.require(actor, "Stopping the class link")
    folder = _folder()
    if not runs.launched(folder):
        return
    lifecycle.terminate(folder)
    if not lifecycle.read_status(folder).terminal:  # killed before its runner could write it
        runner.end(folder, "stopped", message="stopped")
    (folder / lifecycle.LAUNCHER).unlink(missing_ok=True)
    runs.results_path(folder).unlink(missing_ok=True)


def space_class_link() -> str | None:
    """On a Hugging Face Space: the Space's own Tutor page (share links are disabled there)."""
    if not os.environ.get("SPACE_ID"):
        return None
    host = os.environ.get("SPACE_HOST") or f"{os.environ['SPACE_ID'].replace('/', '-').lower()}.hf.space"
    return f"https://{host}/Tutor"
