"""Emulated Azure OpenAI (deployment style):
POST /openai/deployments/{deployment}/chat/completions?api-version=...

The body and the JSON / SSE replies are OpenAI Chat Completions plus Azure's content-filter
annotations (`prompt_filter_results`, per-choice `content_filter_results`; a stream opens with a
chunk whose `choices` is empty and that carries `prompt_filter_results`). The deployment in the path
is the model. A request without the `api-version` query parameter is answered with a 404 as Azure
does. Errors use Azure's shape, `{"error": {"code", "message"}}`, and a 429 carries `retry-after-ms`
besides `retry-after`.

The `/openai/v1/...` surface needs no format of its own: its paths end like OpenAI's
(`/v1/chat/completions`, `/v1/responses`), so those formats answer them.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from harness.errors import EmulatedRequestError
from harness.testing.scripting import EmulatedRequest, Fault, Reply
from harness.testing.wire.base import Rendered, RenderedStream, sse
from harness.testing.wire.openai_chat import OpenAIChatFormat
from harness.testing.wire.strict import Rejection, check_openai_chat

_PATH = re.compile(r"^/openai/deployments/([^/]+)/chat/completions/?$")
_SAFE = {"filtered": False, "severity": "safe"}
_FILTERS = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}
_PROMPT_FILTERS = [
    {
        "prompt_index": 0,
        "content_filter_results": {**_FILTERS, "jailbreak": {"filtered": False, "detected": False}},
    }
]
_CODES = {401: "401", 403: "403", 404: "DeploymentNotFound", 429: "429"}


class AzureOpenAIFormat(OpenAIChatFormat):
    provider: ClassVar[str] = "azure_openai"
    base_paths: ClassVar[dict[str, str]] = {"azure_openai": ""}

    def matches(self, method: str, path: str) -> bool:
        return method == "POST" and _PATH.match(path) is not None

    def parse(self, path: str, headers: dict[str, str], body: Any, query: dict[str, str]) -> EmulatedRequest:
        if not query.get("api-version"):
            raise EmulatedRequestError("the api-version query parameter is required")
        deployment = _PATH.match(path).group(1)  # type: ignore[union-attr]
        req = super().parse(path, headers, {**body, "model": body.get("model") or deployment}, query)
        req.provider, req.model = self.provider, deployment
        return req

    def validate(self, path: str, headers: dict[str, str], body: Any) -> Rejection | None:
        return check_openai_chat(body, require_model=False)  # the deployment in the path is the model

    def reject(self, rejection: Rejection) -> Rendered:
        return self.render_error(Fault.http(rejection.status, rejection.message), None)

    def render(self, reply: Reply, req: EmulatedRequest) -> Rendered:
        status, headers, raw = super().render(reply, req)
        body = json.loads(raw)
        body["prompt_filter_results"] = _PROMPT_FILTERS
        filtered = reply.finish == "content_filter"
        for choice in body["choices"]:
            choice["content_filter_results"] = {
                k: {"filtered": filtered, "severity": "high" if filtered else "safe"} for k in _FILTERS
            }
        return status, headers, json.dumps(body).encode()

    def render_stream(self, reply: Reply, req: EmulatedRequest) -> RenderedStream:
        status, headers, pieces = super().render_stream(reply, req)
        opening = sse(
            {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": _PROMPT_FILTERS,
            }
        )
        return status, headers, [opening, *pieces]

    def render_error(self, fault: Fault, req: EmulatedRequest | None) -> Rendered:
        status = fault.status
        if fault.message.startswith("emulator could not parse request: the api-version"):
            status = 404  # what Azure answers without api-version
        body = {"error": {"code": _CODES.get(status, str(status)), "message": fault.message}}
        headers = {"content-type": "application/json"}
        if status == 429 and fault.retry_after is not None:
            headers["retry-after-ms"] = f"{fault.retry_after * 1000:g}"
        return status, headers, json.dumps(body).encode()


FORMAT = AzureOpenAIFormat()
