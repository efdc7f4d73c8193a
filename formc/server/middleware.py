"""CORS (preflight + response headers for the --cors origins) and the one error handler that
renders every failure as Rasa's JSON error body (a 5xx only for store outages and bugs)."""

from __future__ import annotations

import logging

from sanic import response
from sanic.exceptions import SanicException

from ..stores import StoreError
from .errors import ApiError, error_body
from .http import json_response

log = logging.getLogger("formc.server")


def cors_headers(request) -> dict:
    origins = request.app.ctx.settings.origins
    if not origins:
        return {}
    origin = request.headers.get("origin")
    if "*" in origins:
        return {"Access-Control-Allow-Origin": "*"}
    if origin and origin in origins:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                "Access-Control-Allow-Credentials": "true"}
    return {}


def add_cors(app) -> None:
    @app.on_request
    async def _preflight(request):
        if request.method != "OPTIONS":
            return None
        if not request.app.ctx.settings.origins:
            return json_response(error_body(405, "MethodNotAllowed", "OPTIONS is only answered "
                                            "when the server is started with --cors ORIGIN."),
                                 status=405)
        headers = cors_headers(request)
        headers.update({
            "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": request.headers.get(
                "access-control-request-headers", "Content-Type, Authorization"),
            "Access-Control-Max-Age": "600"})
        return response.empty(status=204, headers=headers)

    @app.on_response
    async def _cors(request, resp):
        if request.app.ctx.settings.origins and request.method != "OPTIONS":
            for k, v in cors_headers(request).items():
                resp.headers[k] = v


def store_down(exc: Exception) -> bool:
    """A store outage (the server is fine; retrying later may work): 503, not 500."""
    if isinstance(exc, (StoreError, ConnectionError, TimeoutError)):
        return True
    try:
        import redis.exceptions
        if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                            redis.exceptions.BusyLoadingError, redis.exceptions.ReadOnlyError)):
            return True
    except ImportError:   # pragma: no cover - redis is a dependency
        pass
    import sqlite3
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def _head_too_large(request) -> tuple[int, str, str]:
    """Sanic refuses a request head over REQUEST_MAX_HEADER_SIZE with 413: a request line
    that alone fills it is a URL too long (414), otherwise the headers are (431)."""
    limit = request.app.config.REQUEST_MAX_HEADER_SIZE if request else 8192
    received = bytes(getattr(getattr(request, "stream", None), "recv_buffer", b"") or b"")
    line_end = received.find(b"\r\n")
    if line_end < 0 or line_end >= limit // 2:
        return 414, "URITooLong", (f"The request URL is longer than the server accepts "
                                   f"(the request head is limited to {limit:,} bytes).")
    return 431, "RequestHeaderFieldsTooLarge", (f"The request headers are larger than the "
                                                f"server's limit of {limit:,} bytes.")


def on_error(request, exc):
    """Every exception a route raised -> Rasa's JSON error body with the right status."""
    if isinstance(exc, ApiError):
        body = error_body(exc.status, exc.reason, exc.message, exc.details, exc.help)
        status = exc.status
    elif isinstance(exc, SanicException) and exc.status_code < 500:
        status = exc.status_code
        reason = type(exc).__name__
        message = str(exc) or reason
        if status == 404:
            message = f"No route for {request.method} {request.path}. {message}"
        elif status == 413 and "header" in message.lower():
            status, reason, message = _head_too_large(request)
        elif status == 413:
            message = (f"The request body is larger than the server's limit of "
                       f"{request.app.config.REQUEST_MAX_SIZE:,} bytes (formc serve --max-body).")
        body = error_body(status, reason, message)
    elif store_down(exc):
        log.error("store unavailable: %s: %s", type(exc).__name__, exc)
        status = 503
        body = error_body(503, "StoreUnavailable", f"The conversation store is unavailable "
                          f"({type(exc).__name__}: {exc}); retry shortly.")
        return json_response(body, status=503, headers={"Retry-After": "1",
                                                        **(cors_headers(request) if request else {})})
    else:
        log.exception("bug while handling %s %s", request.method, request.path, exc_info=exc)
        status = 500
        body = error_body(500, "InternalError", f"Internal error ({type(exc).__name__}); "
                          "the conversation was not changed. See the server log.")
    return json_response(body, status=status, headers=cors_headers(request) if request else None)
