"""Rasa's callback channel: POST /webhooks/callback/webhook {sender, message} answers `success`;
the bot's messages (and those of reminders and external events) are POSTed one by one to the
configured url, each with a timeout and a few retries, in order per conversation."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sanic import Blueprint, Sanic, response

from ..errors import parse_user_message
from ..http import json_response, rest_messages, route_methods

log = logging.getLogger("formc.channels")
MAX_CONCURRENT_POSTS = 32


class CallbackChannel:
    name = "callback"
    collecting = True   # a CollectingOutputChannel in Rasa: messages also in the answer

    def __init__(self, app: Sanic, options: dict) -> None:
        self.url = options["url"]
        self.timeout = float(options.get("timeout") or 10.0)
        self.retries = int(options.get("retries") if options.get("retries") is not None else 3)
        self.headers = {str(k): str(v) for k, v in (options.get("headers") or {}).items()}
        self.params = {}
        if options.get("token") is not None:   # as Rasa's EndpointConfig: a query parameter
            self.params[str(options.get("token_name") or "token")] = str(options["token"])
        self.auth = options.get("basic_auth") if isinstance(options.get("basic_auth"), dict) else None
        self._session = None
        self._tails: dict[str, asyncio.Task] = {}
        self._gate: asyncio.Semaphore | None = None
        app.blueprint(self.blueprint())

    def blueprint(self) -> Blueprint:
        bp = Blueprint("formc_callback", url_prefix="/webhooks/callback")

        @bp.route("/", methods=route_methods("GET"))
        async def health(request):
            return json_response({"status": "ok"})

        @bp.route("/webhook", methods=route_methods("POST"), strict_slashes=False)
        async def webhook(request):
            _body, sender, text = parse_user_message(request.body)

            async def step(bot, session):
                return await bot.agent.handle_message(session, sender, text.strip(),
                                                      input_channel="callback")

            result = await request.app.ctx.conversations.run(sender, "message", step)
            await self.push(sender, result.messages)
            return response.text("success")

        return bp

    async def push(self, sender_id: str, messages: list) -> None:
        """Queue the messages for delivery after any still being sent to this sender."""
        payloads = rest_messages(messages, sender_id)
        if not payloads:
            return
        previous = self._tails.get(sender_id)
        task = asyncio.ensure_future(self._deliver(sender_id, payloads, previous))
        self._tails[sender_id] = task
        task.add_done_callback(lambda t: self._tails.get(sender_id) is t
                               and self._tails.pop(sender_id, None))

    async def _deliver(self, sender_id: str, payloads: list, previous: Any) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        if self._gate is None:
            self._gate = asyncio.Semaphore(MAX_CONCURRENT_POSTS)
        async with self._gate:
            for i, payload in enumerate(payloads):
                problem = await self._post(payload)
                if problem:
                    log.warning(json.dumps({"channel": "callback", "sender": sender_id,
                                            "error": f"{len(payloads) - i} message(s) not "
                                            f"delivered to {self.url}: {problem}"}))
                    return

    async def _post(self, payload: dict) -> str:
        """POST one message; '' when delivered, else why not (after the retries)."""
        import aiohttp
        if self._session is None:
            auth = aiohttp.BasicAuth(str(self.auth.get("username", "")),
                                     str(self.auth.get("password", ""))) if self.auth else None
            self._session = aiohttp.ClientSession(auth=auth, headers=self.headers)
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(min(0.25 * 2 ** attempt, 5.0))
            try:
                async with self._session.post(self.url, json=payload, params=self.params,
                                              timeout=aiohttp.ClientTimeout(total=self.timeout)) as r:
                    await r.content.read(64 * 1024)
                    if r.status < 400:
                        return ""
                    problem = f"HTTP {r.status}"
                    if r.status < 500:
                        return problem   # the receiver refuses it: retrying will not help
            except asyncio.TimeoutError:
                problem = f"no answer within {self.timeout:g} s"
            except (aiohttp.ClientError, ValueError, OSError) as e:
                problem = f"{type(e).__name__}: {e}"
        return f"{problem} (tried {self.retries + 1} times)"

    async def close(self) -> None:
        pending = [t for t in self._tails.values() if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=self.timeout)
        if self._session is not None:
            await self._session.close()
            self._session = None
