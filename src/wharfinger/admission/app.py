"""The ASGI application: ``/validate``, ``/mutate``, ``/healthz``, ``/readyz``, ``/metrics``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from wharfinger.admission.webhook import Webhook
from wharfinger.policy.request import MAX_REVIEW_BYTES

__all__ = ["Reloader", "create_app"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reloader:
    """Something to re-check every ``interval_s``: a certificate, the policy, the trust store."""

    name: str
    check: Callable[[], None]  # cheap when nothing changed (stat + hash); swaps state when something did
    interval_s: float = 1.0


def _json(body: object, status: int) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status_code=status, media_type="application/json")


async def _read_body(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    webhook: Webhook,
    *,
    reloaders: Sequence[Reloader] = (),
    mutate_enabled: bool = False,
    max_body_bytes: int = MAX_REVIEW_BYTES,
) -> Starlette:
    async def review(request: Request, *, mutate: bool) -> Response:
        if request.headers.get("content-type", "application/json").split(";")[0].strip() != "application/json":
            webhook.metrics.malformed.labels("415").inc()
            return _json({"error": "the body must be application/json", "hint": "send an AdmissionReview"}, 415)
        body = await _read_body(request, max_body_bytes)
        if body is None:
            webhook.metrics.malformed.labels("413").inc()
            return _json(
                {
                    "error": f"the request body is over the {max_body_bytes}-byte limit",
                    "hint": "the API server never sends objects this large; check what is calling the webhook",
                },
                413,
            )
        answer = await webhook.handle(body, mutate=mutate)
        return _json(answer.body, answer.status)

    async def validate(request: Request) -> Response:
        return await review(request, mutate=False)

    async def mutate(request: Request) -> Response:
        if not mutate_enabled:
            return _json({"error": "mutation is disabled", "hint": "start the webhook with --mutate"}, 404)
        return await review(request, mutate=True)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        ready = webhook.state.is_ready
        webhook.metrics.ready.set(1 if ready else 0)
        if ready:
            return PlainTextResponse("ready")
        missing = [
            name
            for name, present in (
                ("policy", webhook.state.policies is not None),
                ("trust material", webhook.state.provider is not None and webhook.state.provider.is_ready()),
            )
            if not present
        ]
        return PlainTextResponse(f"not ready: no {' and no '.join(missing)} loaded", status_code=503)

    async def metrics(_: Request) -> Response:
        webhook.metrics.ready.set(1 if webhook.state.is_ready else 0)
        return Response(generate_latest(webhook.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def watch(reloader: Reloader) -> None:
        while True:
            await asyncio.sleep(reloader.interval_s)
            try:
                reloader.check()  # cheap (stat, then hash on change); in the loop thread so TLS swaps are not racy
            except Exception:  # a reload must never stop the server; the old state stays in force
                log.exception("reload failed", extra={"event": "admission.reload.failed", "what": reloader.name})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(watch(r)) for r in reloaders]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await webhook.cache.close()

    return Starlette(
        routes=[
            Route("/validate", validate, methods=["POST"]),
            Route("/mutate", mutate, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
