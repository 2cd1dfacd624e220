"""The study's web server (Starlette on uvicorn): the observer page, its JSON API and the images.

API (the page uses nothing else, so a lab can write its own front end):

* ``GET /api/study`` → ``{"instructions", "consent", "practice", "total"}``: the texts to show before
  the first trial (null when the study folder has none) and the trials per observer.
* ``GET /api/observer?observer=ID`` → ``{"observer", "started", "answered", "total"}``: a page shows the
  instructions to an observer who has not started, whatever the id came from.
* ``GET /api/next?observer=ID[&session=S]`` → ``{"pair_id", "left", "right", "reference", "scene",
  "practice", "answered", "total", "done": false}`` (image URLs), or, after the last trial,
  ``{"done": true, "answered", "total", "code"}`` with the observer's completion code.
  Until it is answered, the same pair is returned again, so a reloaded page resumes.
* ``POST /api/answer`` with ``{"pair_id", "observer", "chosen": "left"|"right", "ms"}`` →
  ``{"ok": true, "answered", "total"}``; the answer is in the database when this reply is sent.
  A malformed answer is refused with 400, an unknown pair with 404, another observer's pair with 403,
  a pair answered before with 409; a refused answer is stored nowhere.
* ``GET /image/<pair_id>/<left | right | reference>``: the images of a served pair, and nothing else.
* Every error is JSON ``{"error": "..."}``.
* With a token, every request needs ``?token=T`` or the header ``X-Study-Token: T`` (else 401).
"""

from __future__ import annotations

import hmac
import json
import socket
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from mdfloss.common.errors import InvalidInputError
from mdfloss.common.extras import require
from mdfloss.study.service import StudyService
from mdfloss.study.store import AnswerRefused

MAX_BODY = 4096


def _error(status: int, message: str):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status)


def _routes(service: StudyService, page: str) -> list:
    """The page, the images and the API; every refusal a JSON error."""
    from starlette.responses import FileResponse, HTMLResponse
    from starlette.routing import Route

    def index(request):
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    def image(request):
        path = service.image_path(request.path_params["pair_id"], request.path_params["which"])
        if path is None or not path.is_file():
            return _error(404, "no such image")
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    return [Route("/", index), *_api_routes(service), Route("/image/{pair_id}/{which}", image)]


def _api_routes(service: StudyService) -> list:
    """``/api/study``, ``/api/observer``, ``/api/next`` and ``/api/answer``."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def study_info(request):
        return JSONResponse(service.study_info())

    def observer_status(request):
        try:
            return JSONResponse(service.observer_status(request.query_params.get("observer", "")))
        except AnswerRefused as exc:
            return _error(exc.status, str(exc))

    def next_pair(request):
        try:
            return JSONResponse(service.next_pair(request.query_params.get("observer", ""),
                                                  request.query_params.get("session", "1")))
        except AnswerRefused as exc:
            return _error(exc.status, str(exc))

    async def answer(request):
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return _error(413, f"the answer is larger than {MAX_BODY} bytes")
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, 'expected a JSON body {"pair_id", "observer", "chosen", "ms"}')
        try:  # SQLite commits block; keep them off the event loop
            return JSONResponse(await run_in_threadpool(service.answer, body))
        except AnswerRefused as exc:
            return _error(exc.status, str(exc))

    return [Route("/api/study", study_info), Route("/api/observer", observer_status),
            Route("/api/next", next_pair), Route("/api/answer", answer, methods=["POST"])]


class _TokenCheck:
    """ASGI middleware: with a token, every HTTP request must carry it (query ``token`` or ``X-Study-Token``)."""

    def __init__(self, app, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        from starlette.requests import Request

        if scope["type"] == "http" and self.token is not None:
            request = Request(scope)
            given = request.query_params.get("token") or request.headers.get("x-study-token") or ""
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                await _error(401, "this study needs its token: add ?token=... to the address")(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _http_error(request, exc):
    # Every error is JSON, as the API's own refusals are: unknown paths (404) and wrong methods (405) too.
    messages = {404: "no such page or API route", 405: f"{request.method} is not allowed here"}
    return _error(exc.status_code, messages.get(exc.status_code, str(exc.detail)))


def make_app(study_dir: Path, *, token: str | None = None, trials: int = 30, seed: int | None = None,
             sampler: str = "active"):
    """The ASGI app serving one study folder."""
    require("starlette", "study", "the study server")
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware

    service = StudyService(study_dir, trials=trials, seed=seed, sampler=sampler,
                           url_suffix=f"?token={quote(token)}" if token else "")
    page = resources.files("mdfloss.study").joinpath("web/index.html").read_text(encoding="utf-8")
    app = Starlette(routes=_routes(service, page), middleware=[Middleware(_TokenCheck, token=token)],
                    exception_handlers={HTTPException: _http_error})
    app.state.service = service
    return app


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or one clear line on why not (port taken, bad host)."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(128)
    except OSError as exc:
        raise InvalidInputError(f"--host/--port: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                                "choose another --port") from None
    return sock


def serve(study_dir: Path, *, host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
          trials: int = 30, seed: int | None = None, sampler: str = "active", echo=print) -> None:
    """Serve until interrupted."""
    uvicorn = require("uvicorn", "study", "the study server")
    app = make_app(study_dir, token=token, trials=trials, seed=seed, sampler=sampler)
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    echo(f"study: http://{host}:{actual}/" + (f"?token={quote(token)}" if token else "") + "  (Ctrl-C stops)")
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
