"""What keeps the class link to its one chat: Gradio's launch arguments (no files served, the project
and the app home blocked, no flagging, history, monitoring, MCP or PWA), the middleware that refuses
uploads before Gradio reads a byte, and the sign-in page that asks students only for the class password.
The Gradio app itself is classroom.py's.
"""

from core.home import PROJECT_ROOT, home


def launch_kwargs(share: bool, port: int | None, host: str, password: str | None) -> dict:
    """launch() arguments that keep the app to its one chat endpoint."""
    kwargs = dict(share=share, server_name=host, server_port=port, prevent_thread_lock=True, quiet=False,
                  footer_links=[], run_history=False, enable_monitoring=False, mcp_server=False, pwa=False,
                  ssr_mode=False, allowed_paths=[], max_file_size="1kb", show_error=True,
                  blocked_paths=[str(PROJECT_ROOT), str(home())], app_kwargs={"middleware": [_no_uploads()]})
    if password:
        import hmac

        kwargs["auth"] = lambda _user, typed: hmac.compare_digest(typed.encode(), password.encode())
        kwargs["auth_message"] = "Type the class password."
    return kwargs


# The class link's own sign-in page: only the password (Gradio's asks for a user name too, which students
# do not have), what was typed stays in the box after a wrong try, and the message says so plainly. It
# posts to Gradio's own /login, so Gradio's cookie and checks stay the only gate.
PASSWORD_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ScienceQA tutor</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f7f9;margin:0;display:flex;
min-height:100vh;align-items:center;justify-content:center}
form{background:#fff;border:1px solid #dde;border-radius:10px;padding:28px;width:min(340px,86vw)}
h1{font-size:1.3rem;margin:0 0 6px}p{color:#555;margin:0 0 18px}label{display:block;font-weight:600;margin-bottom:6px}
input{box-sizing:border-box;width:100%;font-size:1.05rem;padding:10px;border:1px solid #bbc;border-radius:6px}
button{margin-top:14px;width:100%;font-size:1.05rem;padding:10px;border:0;border-radius:6px;background:#ea580c;
color:#fff;cursor:pointer}#msg{color:#b91c1c;min-height:1.3em;margin:10px 0 0}
</style></head><body>
<form id="f"><h1>ScienceQA tutor</h1><p>Your teacher gave you the class password.</p>
<label for="pw">Class password</label>
<input id="pw" name="password" type="password" autocomplete="current-password" autofocus required>
<button type="submit">Open the tutor</button><div id="msg" role="alert"></div></form>
<script>
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const pw = document.getElementById("pw"), msg = document.getElementById("msg");
  msg.textContent = "";
  const body = new URLSearchParams({username: "student", password: pw.value});
  let r;
  try { r = await fetch("login", {method: "POST", body, credentials: "same-origin"}); }
  catch (err) { msg.textContent = "The tutor cannot be reached. Try again in a moment."; return; }
  if (r.ok) { location.reload(); return; }
  msg.textContent = "Wrong password. Check it and try again.";
  pw.focus(); pw.select();
});
</script></body></html>
"""


def install_password_page(app) -> None:
    """Serve PASSWORD_PAGE at / to visitors not signed in; signed-in visitors get the chat as before."""
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    chat_page = next(r for r in app.router.routes
                     if getattr(r, "path", None) == "/" and "GET" in getattr(r, "methods", ()))

    def signed_in(request) -> str | None:
        token = (request.cookies.get(f"access-token-{app.cookie_id}")
                 or request.cookies.get(f"access-token-unsecure-{app.cookie_id}"))
        return app.tokens.get(token)

    def front(request):
        user = signed_in(request)
        if user is None:
            return HTMLResponse(PASSWORD_PAGE, headers={"Cache-Control": "no-store"})
        q = request.query_params
        return chat_page.endpoint(request, user=user, page=q.get("page", ""), deep_link=q.get("deep_link", ""))

    app.router.routes.insert(0, Route("/", front, methods=["GET", "HEAD"]))


def _no_uploads():
    from starlette.middleware import Middleware

    return Middleware(RefuseUploads)


class RefuseUploads:
    """ASGI middleware: Gradio mounts its file-upload routes whatever the components; the class link takes
    text only, so an upload is answered 405 before Gradio reads a byte (nothing reaches the disk)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "").rstrip("/") if scope.get("type") == "http" else ""
        if path.endswith(("/upload", "/upload_progress")):
            await send({"type": "http.response.start", "status": 405,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"The class link accepts no uploads."})
            return
        await self.app(scope, receive, send)
