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
        elif status == 413:
            message = (f"The request body is larger than the server's limit of "
                       f"{request.app.config.REQUEST_MAX_SIZE:,} bytes (formc serve --max-body).")
        body = error_body(status, reason, message)
    elif isinstance(exc, StoreError):
        log.error("store error: %s", exc)
        status = 503
        body = error_body(503, "StoreUnavailable", str(exc))
    else:
        log.exception("bug while handling %s %s", request.method, request.path, exc_info=exc)
        status = 500
        body = error_body(500, "InternalError", f"Internal error ({type(exc).__name__}); "
                          "the conversation was not changed. See the server log.")
    return json_response(body, status=status, headers=cors_headers(request) if request else None)
