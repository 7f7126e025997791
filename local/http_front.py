"""An HTTP server that plays API Gateway HTTP API (payload format 2.0) in front of local functions.

:class:`HttpFront` serves on werkzeug (threaded), matches each request to the template's routes
like API Gateway does (literal segments beat ``{param}``, which beats a greedy ``{param+}``;
``$default`` last), builds the 2.0 event (:func:`build_event`), calls
``invoke(function_logical_id, event)`` and turns what the function returned into the HTTP
response (:func:`to_response`) with API Gateway's inference rules for bare results.

Every answer the front makes itself (rather than a function) is the API's error envelope
``{"error": {"code": ..., "message": ...}}``, never HTML: 503 ``starting`` (with ``Retry-After``)
until :meth:`HttpFront.mark_ready` and 503 ``stopping`` while it shuts down, 404
``route_not_found``, 413 ``body_too_large`` (over API Gateway's 10 MB payload limit), 431
``headers_too_large``, 414 ``uri_too_long``, 400 ``bad_request`` for an unparsable request,
and 500 ``internal_error`` when a function failed or answered a malformed response.

``static`` files (path -> body and content type) are served by the front itself once it is ready:
the local stack's sample product image, so that a job can name a URL on the stack's own port.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local.cfn import DEFAULT_ACCOUNT_ID, HttpRoute

__all__ = [
    "MAX_BODY_BYTES",
    "FrontError",
    "HttpFront",
    "Invoke",
    "RouteMatch",
    "StaticFile",
    "build_event",
    "is_text_content_type",
    "match_route",
    "to_response",
]

LOG = logging.getLogger(__name__)

Invoke = Callable[[str, dict[str, Any]], Any]
"""``invoke(function_logical_id, event) -> result``; raises when the function fails."""

#: API Gateway HTTP API's largest request payload
MAX_BODY_BYTES: Final = 10 * 1024 * 1024
#: seconds a client is asked to wait while the stack is still starting
STARTING_RETRY_AFTER_SECONDS: Final = 2

#: the stable error code of each status the HTTP server itself answers (unparsable requests)
PROTOCOL_ERROR_CODES: Final[Mapping[int, str]] = {
    400: "bad_request",
    408: "request_timeout",
    413: "body_too_large",
    414: "uri_too_long",
    431: "headers_too_large",
    501: "method_not_supported",
    505: "http_version_not_supported",
}


@dataclass(frozen=True)
class FrontError:
    """An answer the front makes itself: status, stable code, human message."""

    status: int
    code: str
    message: str

    def document(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}

    def body(self) -> bytes:
        return json.dumps(self.document()).encode()


ROUTE_NOT_FOUND: Final = FrontError(404, "route_not_found", "no such route; see /v1/openapi.json")
INTERNAL_ERROR: Final = FrontError(500, "internal_error", "the function behind this route failed; retry")
STARTING: Final = FrontError(503, "starting", "the local stack is starting; retry shortly")
STOPPING: Final = FrontError(503, "stopping", "the local stack is stopping")
BODY_TOO_LARGE: Final = FrontError(
    413, "body_too_large", f"the request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB"
)


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    content_type: str


_TEXT_TYPES: Final = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/ecmascript",
        "application/xml",
        "application/xhtml+xml",
        "application/graphql",
        "application/x-ndjson",
        "application/ld+json",
        "application/problem+json",
        "application/yaml",
        "application/x-yaml",
    }
)


def is_text_content_type(content_type: str | None) -> bool:
    """Whether a request body of this type reaches the function as text (else base64)."""
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml"))


# --- routing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteMatch:
    route: HttpRoute
    path_parameters: dict[str, str]


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def _specificity(route: HttpRoute) -> tuple[int, ...]:
    """Sort key: literal segments (0) beat parameters (1), which beat a greedy parameter (2)."""
    if route.path == "$default":
        return (3,)
    key = []
    for segment in _segments(route.path):
        if segment.startswith("{") and segment.endswith("+}"):
            key.append(2)
        elif segment.startswith("{") and segment.endswith("}"):
            key.append(1)
        else:
            key.append(0)
    return (*key, 3 if route.method == "ANY" else 0)


def _match_segment(pattern: str, value: str, params: dict[str, str]) -> bool:
    if pattern.startswith("{") and pattern.endswith("}"):
        params[pattern[1:-1]] = unquote(value)
        return bool(value)
    return unquote(value) == pattern


def _match_path(route_path: str, raw_segments: list[str]) -> dict[str, str] | None:
    if route_path == "$default":
        return {}
    pattern = _segments(route_path)
    params: dict[str, str] = {}
    greedy = bool(pattern) and pattern[-1].startswith("{") and pattern[-1].endswith("+}")
    fixed = pattern[:-1] if greedy else pattern
    fits = len(raw_segments) > len(fixed) if greedy else len(raw_segments) == len(fixed)
    if not fits:
        return None
    if not all(_match_segment(p, v, params) for p, v in zip(fixed, raw_segments, strict=False)):
        return None
    if greedy:
        params[pattern[-1][1:-2]] = unquote("/".join(raw_segments[len(fixed) :]))
    return params


def match_route(routes: Iterable[HttpRoute], method: str, raw_path: str) -> RouteMatch | None:
    """The route API Gateway would pick for ``method raw_path`` (most specific first)."""
    raw_segments = raw_path.strip("/").split("/") if raw_path.strip("/") else []
    candidates: list[RouteMatch] = []
    for route in routes:
        if route.method not in ("ANY", method.upper()):
            continue
        params = _match_path(route.path, raw_segments)
        if params is not None:
            candidates.append(RouteMatch(route, params))
    if not candidates:
        return None
    return min(candidates, key=lambda m: _specificity(m.route))


# --- event ---------------------------------------------------------------------------------------


def _request_id() -> str:
    return base64.b64encode(secrets.token_bytes(12)).decode().replace("/", "_").replace("+", "-")[:16]


def _trace_id(now: float) -> str:
    return f"Root=1-{int(now):08x}-{secrets.token_hex(12)}"


def build_event(
    request: Request,
    match: RouteMatch,
    *,
    api_id: str = "localapi01",
    stage: str = "$default",
    account_id: str = DEFAULT_ACCOUNT_ID,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload format 2.0 event for ``request`` on ``match.route``."""
    now = time.time() if now is None else now
    environ = request.environ
    raw_uri = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path)
    raw_path = raw_uri.split("?", 1)[0] or "/"
    raw_query = request.query_string.decode("latin-1")
    source_ip = request.remote_addr or "127.0.0.1"
    host = request.host
    server_port = str(environ.get("SERVER_PORT", ""))

    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers.items():
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    forwarded_for = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded_for}, {source_ip}" if forwarded_for else source_ip
    headers["x-forwarded-port"] = server_port
    headers["x-forwarded-proto"] = request.scheme
    headers.setdefault("x-amzn-trace-id", _trace_id(now))

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if raw_query:
        query: dict[str, str] = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        event["queryStringParameters"] = query
    domain = host
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(":", 1)[0].split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": str(environ.get("SERVER_PROTOCOL", "HTTP/1.1")),
            "sourceIp": source_ip,
            "userAgent": request.headers.get("User-Agent", ""),
        },
        "requestId": request_id or _request_id(),
        "routeKey": match.route.route_key,
        "stage": stage,
        "time": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }
    body = request.get_data(cache=True)
    is_base64 = False
    if body:
        if is_text_content_type(request.headers.get("Content-Type")):
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                is_base64 = True
        else:
            is_base64 = True
        if is_base64:
            event["body"] = base64.b64encode(body).decode("ascii")
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    event["isBase64Encoded"] = is_base64
    return event


# --- response ------------------------------------------------------------------------------------


class MalformedResponseError(ValueError):
    """The function's answer is not a valid HTTP API 2.0 response."""


def error_response(error: FrontError, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(error.body(), status=error.status, content_type="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _bare_response(result: Any) -> Response:
    if result is None:
        body = b""
    elif isinstance(result, str):
        body = result.encode()
    else:
        body = json.dumps(result).encode()
    return Response(body, status=200, content_type="application/json")


def _response_headers(result: Mapping[str, Any]) -> Headers:
    headers = Headers()
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise MalformedResponseError("headers must be an object")
    for name, value in raw_headers.items():
        headers.add(str(name), _header_text(value))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise MalformedResponseError("cookies must be a list")
    for cookie in cookies:
        headers.add("Set-Cookie", str(cookie))
    if "Content-Type" not in headers:
        headers["Content-Type"] = "application/json"
    return headers


def to_response(result: Any) -> Response:
    """Turn a function's 2.0 response (or a bare value) into the HTTP response API Gateway sends.

    A dict with ``statusCode`` is a structured response (headers, cookies -> Set-Cookie,
    body, isBase64Encoded); anything else is the body of a 200 ``application/json`` answer
    (a string as is, other values as JSON).
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        return _bare_response(result)
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError) as exc:
        raise MalformedResponseError(f"statusCode must be an integer, got {result['statusCode']!r}") from exc
    if not 100 <= status <= 599:
        raise MalformedResponseError(f"statusCode {status} is not an HTTP status")
    headers = _response_headers(result)
    raw_body = result.get("body")
    body_text = "" if raw_body is None else raw_body if isinstance(raw_body, str) else json.dumps(raw_body)
    if result.get("isBase64Encoded") in (True, "true"):
        try:
            body = base64.b64decode(body_text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedResponseError("isBase64Encoded is true but the body is not base64") from exc
    else:
        body = body_text.encode()
    response = Response(body, status=status)
    response.headers = headers
    response.headers["Content-Length"] = str(len(body))
    return response


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_header_text(v) for v in value)
    return str(value)


# --- server --------------------------------------------------------------------------------------


class _FrontRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, but the errors the HTTP server answers itself are JSON, not HTML."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        error = FrontError(
            code,
            PROTOCOL_ERROR_CODES.get(code, f"http_{code}"),
            message or explain or self.responses.get(code, ("error",))[0],
        )
        if code == 431:
            error = FrontError(431, error.code, f"the request headers are too large: {error.message}")
        self.log_error("code %d, message %s", code, message)
        if self.request_version == "HTTP/0.9":
            # an unparsable request line leaves the stdlib's default, which sends no status line
            self.request_version = "HTTP/1.1"
        body = error.body()
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class HttpFront:
    """API Gateway HTTP API on loopback for ``routes``; starts serving when constructed.

    ``port=0`` picks a free port (see :attr:`base_url`). Until :meth:`mark_ready` every request
    answers 503 ``starting``: the port is open before the stack behind it is provisioned.
    """

    def __init__(
        self,
        routes: Sequence[HttpRoute],
        invoke: Invoke,
        host: str = "127.0.0.1",
        port: int = 3000,
        *,
        api_id: str = "localapi01",
        account_id: str = DEFAULT_ACCOUNT_ID,
        stage: str = "$default",
        static: Mapping[str, StaticFile] | None = None,
        ready: bool = True,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        unsupported = [r.route_key for r in routes if r.payload_format_version != "2.0"]
        if unsupported:
            raise ValueError(f"only payload format 2.0 is supported, not for: {', '.join(unsupported)}")
        self.routes = list(routes)
        self.invoke = invoke
        self.api_id = api_id
        self.account_id = account_id
        self.stage = stage
        self.static = dict(static or {})
        self.max_body_bytes = max_body_bytes
        self._ready = threading.Event()
        self._stopping = False
        if ready:
            self._ready.set()
        self._server: BaseWSGIServer = make_server(
            host, port, self._wsgi, threaded=True, request_handler=_FrontRequestHandler
        )
        self.host = host
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"http-front-{self.port}", daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def mark_ready(self) -> None:
        """The stack behind the front is provisioned: serve requests from now on."""
        self._ready.set()

    def stop(self) -> None:
        # requests still arriving while the server shuts down get 503 stopping, not a failure
        self._stopping = True
        self._ready.clear()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HttpFront:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _read_unsized_body(self, environ: dict[str, Any]) -> bool:
        """Read a body sent without Content-Length (chunked); False when it is over the limit.

        werkzeug would cut such a body at ``max_content_length`` without a word: read one byte
        more than the limit to tell, and hand the function what was read.
        """
        if environ.get("CONTENT_LENGTH") or not environ.get("wsgi.input_terminated"):
            return True
        body = environ["wsgi.input"].read(self.max_body_bytes + 1)
        if len(body) > self.max_body_bytes:
            return False
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return True

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            if self._ready.is_set() and not self._read_unsized_body(environ):
                response = error_response(BODY_TOO_LARGE, {"Connection": "close"})
            else:
                response = self.handle(Request(environ))
        except HTTPException as exc:  # werkzeug's own (a request it cannot parse)
            status = exc.code or 400
            code = PROTOCOL_ERROR_CODES.get(status, f"http_{status}")
            response = error_response(FrontError(status, code, exc.description or code))
        except Exception:  # the front answers JSON, never werkzeug's HTML error page
            LOG.exception("the local HTTP front failed on %s %s", request.method, request.path)
            response = error_response(INTERNAL_ERROR)
        response.headers["apigw-requestid"] = environ.get("local.request_id", _request_id())
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _answered_by_front(self, request: Request, raw_path: str) -> Response | None:
        """What the front answers without a function: not ready, body too large, a static file."""
        if not self._ready.is_set():
            if self._stopping:
                return error_response(STOPPING, {"Connection": "close"})
            return error_response(STARTING, {"Retry-After": str(STARTING_RETRY_AFTER_SECONDS)})
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            return error_response(BODY_TOO_LARGE, {"Connection": "close"})
        static = self.static.get(raw_path)
        if static is not None and request.method in ("GET", "HEAD"):
            return Response(static.body, status=200, content_type=static.content_type)
        return None

    def handle(self, request: Request) -> Response:
        raw_uri = str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.path)
        raw_path = raw_uri.split("?", 1)[0]
        early = self._answered_by_front(request, raw_path)
        if early is not None:
            return early
        match = match_route(self.routes, request.method, raw_path)
        if match is None:
            return error_response(ROUTE_NOT_FOUND)
        request_id = _request_id()
        request.environ["local.request_id"] = request_id
        event = build_event(
            request,
            match,
            api_id=self.api_id,
            stage=self.stage,
            account_id=self.account_id,
            request_id=request_id,
        )
        try:
            result = self.invoke(match.route.function, event)
        except Exception as exc:  # noqa: BLE001 - any function failure is API Gateway's 500
            if self._stopping:  # the services behind the function went away under it
                return error_response(STOPPING, {"Connection": "close"})
            LOG.warning("%s -> %s failed: %s", match.route.route_key, match.route.function, exc)
            return error_response(INTERNAL_ERROR)
        try:
            return to_response(result)
        except MalformedResponseError as exc:
            LOG.warning("%s -> %s: malformed response: %s", match.route.route_key, match.route.function, exc)
            return error_response(INTERNAL_ERROR)
