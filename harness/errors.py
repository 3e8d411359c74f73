"""Every error harness raises, in one place.

Messages say what was wrong, what is allowed, and what was received.

    HarnessError
    ├── ConfigurationError (ValueError)         bad argument, unknown provider/model string, missing key
    │   ├── UnknownProviderError                 "did you mean ...?" + the known providers
    │   ├── MissingAPIKeyError                   names the argument and the environment variables read
    │   ├── UnsupportedFeatureError              a capability the provider does not declare
    │   ├── UnknownParameterWarning (UserWarning)  a keyword the provider does not know (to model_kwargs)
    │   └── ImportPathError                      a suite's 'module:name' / 'file.py:name' does not import
    ├── InputError (ValueError)                 malformed user files: suite, cassette, pricing; names file:line
    │   ├── SuiteError
    │   │   └── TemplateError                    a user template is unsafe, too big, or fails to render
    │   └── CassetteFormatError
    ├── CassetteError
    │   ├── CassetteMissError                    replay found no recorded request for this one
    │   ├── UnrecordedTrafficWarning (UserWarning)  a provider host reached outside the cassette
    │   ├── CassetteUnusedError                  strict mode: recorded interactions were never played
    │   ├── SecretLeakError                      a write would have put a live secret on disk
    │   ├── CassetteReplyError                   a replayed reply its adapter cannot read (truncated, edited)
    │   └── CassetteEntryError (ValueError)      an entry that is not an interaction (becomes CassetteFormatError)
    ├── NetworkBlockedError (RuntimeError)      pytest --block-network refused a non-loopback connection
    ├── EventStreamError (ValueError)           bytes that are not a valid AWS event stream
    ├── EmulatedRequestError (ValueError)       the provider emulator refuses a request, as the real API would
    ├── OutputParserException (ValueError)      structured output could not be parsed
    ├── ToolException                           raised by tools; becomes a ToolMessage with status "error"
    ├── UnsupportedReplyError (TypeError)       a pytest helper got an object that is no model reply it reads
    ├── TargetError                             a suite target raised, or returned what is no reply (.text)
    ├── JudgeError                              an llm_judge's model gave no verdict (call failed, or no JSON)
    └── ModelError                              the provider call failed (.is_retryable, .response)
        ├── ModelAuthenticationError             401
        ├── ModelPermissionDeniedError           403
        ├── ModelInvalidRequestError             400, 422
        │   └── ContextOverflowError             400 about context length
        ├── ModelNotFoundError                   404
        ├── ModelRateLimitError                  429 (retryable unless quota is exhausted)
        ├── ModelAPIError                        5xx, 529, 408, 409, malformed stream (retryable)
        ├── ModelConnectionError                 connection refused / dropped (retryable)
        ├── ModelTimeoutError                    no answer within `timeout` (retryable)
        └── ModelRefusalError                    the model refused (structured output)

Outside the tree, on purpose: `CassetteSignal` (a BaseException, not an error of its own) carries a
CassetteMissError or SecretLeakError out of another library's client (the openai, anthropic and
google-genai SDKs retry any `Exception` and would bury it as "Connection error"); `use_cassette`, the
pytest plugin and the runner turn it back into the error it carries.

May import: nothing from harness (every other part imports it).
"""

from __future__ import annotations

import difflib
from typing import Any


class HarnessError(Exception):
    """Base of every error harness raises on purpose."""


# --- configuration / input -------------------------------------------------------------------


class ConfigurationError(HarnessError, ValueError):
    """An argument or setting is not one harness accepts."""


class UnknownProviderError(ConfigurationError):
    def __init__(self, provider: str, known: list[str], *, model: str | None = None) -> None:
        self.provider = provider
        self.known = sorted(known)
        close = difflib.get_close_matches(provider, self.known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        what = f"model {model!r}: " if model else ""
        super().__init__(
            f"{what}unknown provider {provider!r}.{hint} Known providers: {', '.join(self.known)}."
        )


class MissingAPIKeyError(ConfigurationError):
    def __init__(self, provider: str, env_vars: list[str]) -> None:
        self.provider = provider
        self.env_vars = env_vars
        super().__init__(f"{provider}: no API key. Pass api_key=... or set {' or '.join(env_vars)}.")


class UnsupportedFeatureError(ConfigurationError):
    def __init__(self, provider: str, feature: str, allowed: list[str] | None = None) -> None:
        extra = f" Supported: {', '.join(allowed)}." if allowed else ""
        super().__init__(f"{provider} does not support {feature}.{extra}")


class UnknownParameterWarning(ConfigurationError, UserWarning):
    """A constructor keyword the provider does not know: moved into model_kwargs with this warning, as
    LangChain does; a suite (a file, not code) refuses it instead, naming `.name` and `.hint`."""

    def __init__(self, message: str, *, name: str = "", provider: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.provider = provider
        self.hint = hint


class ImportPathError(ConfigurationError):
    """An import path a suite names (`python` path, `pydantic` class, tool `function`, ...) does not
    resolve. The message is one line: what named it, the path, what failed, the allowed forms."""


class InputError(HarnessError, ValueError):
    """A user file (suite, cassette, price list) is malformed. The message names file and place."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(f"{where}{message}")


class SuiteError(InputError):
    pass


class CassetteFormatError(InputError):
    pass


# --- cassettes --------------------------------------------------------------------------------


class CassetteError(HarnessError):
    pass


class CassetteMissError(CassetteError):
    """Replay found no recorded interaction for a request. The message holds the nearest diff.
    `only_base_url`: the same request was recorded against another base URL (recording is no fix)."""

    def __init__(
        self, message: str, *, cassette: str | None = None, request: Any = None, only_base_url: bool = False
    ) -> None:
        self.cassette = cassette
        self.request = request
        self.only_base_url = only_base_url
        super().__init__(message)


class CassetteUnusedError(CassetteError):
    pass


class UnrecordedTrafficWarning(CassetteError, UserWarning):
    """While a cassette was active, a provider host was reached by a client the cassette cannot see
    (e.g. `requests`, `urllib3`): that traffic is neither recorded nor replayed."""


class CassetteSignal(BaseException):  # noqa: N818  (a carrier, not an error type of its own)
    """A cassette's error (CassetteMissError, SecretLeakError) on its way out of another library's HTTP
    client.

    SDKs retry any `Exception` from their transport and then raise "Connection error" with the miss in
    `__cause__`; a BaseException passes their retry loops at once. `use_cassette`'s exit, the pytest
    plugin and the runner re-raise `.error`, the CassetteError itself."""

    def __init__(self, error: CassetteError) -> None:
        self.error = error
        super().__init__(str(error))


class SecretLeakError(CassetteError):
    pass


class CassetteReplyError(CassetteError):
    """A reply replayed from a cassette that its provider adapter cannot read: the file was truncated or
    edited. Not a ModelError, so it is never retried (a retry would only find the answer played)."""


class CassetteEntryError(CassetteError, ValueError):
    """A cassette entry is not an interaction; `.entry` is its index. Raised while parsing; the store
    re-raises it as a CassetteFormatError naming the file and line."""

    def __init__(self, message: str, entry: int | None = None) -> None:
        self.entry = entry
        super().__init__(message)


class JudgeError(HarnessError):
    """The judge model of an `llm_judge` gave no verdict: its call failed after the retries, or its reply
    was not the JSON verdict. No verdict is no judgement of the output, so a run makes the cell `error`
    (which `--retry-errors` runs again), never `failed`."""


class NetworkBlockedError(HarnessError, RuntimeError):
    """A test opened a socket to a non-loopback address under --block-network.

    A RuntimeError rather than an OSError, so HTTP clients do not turn it into a retried connection error.
    """

    __module__ = "harness.pytest_plugin"  # where users import it from


# --- output / tools ---------------------------------------------------------------------------


class OutputParserException(HarnessError, ValueError):
    def __init__(self, message: str, *, llm_output: str | None = None, observation: str | None = None):
        self.llm_output = llm_output
        self.observation = observation
        self.send_to_llm = False
        super().__init__(message)


class ToolException(HarnessError):
    """Raise inside a tool to report a failure to the model instead of crashing the loop."""


# --- provider calls ---------------------------------------------------------------------------


class EventStreamError(HarnessError, ValueError):
    """Bytes that are not a valid AWS event stream (bad CRC, impossible length, truncated message)."""


class EmulatedRequestError(HarnessError, ValueError):
    """The provider emulator refuses a request the real API would refuse (answered with its error body)."""


class ModelError(HarnessError):
    """A provider call failed. `.response` is the httpx.Response when there was one."""

    is_retryable = False
    status_code: int | None = None

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        response: Any = None,
        body: Any = None,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        self.provider = provider
        self.status_code = status_code if status_code is not None else type(self).status_code
        self.response = response
        self.body = body
        self.retry_after = retry_after
        self.request_id = request_id
        prefix = f"{provider}: " if provider else ""
        status = f"HTTP {self.status_code}: " if self.status_code else ""
        super().__init__(f"{prefix}{status}{message}")


class ModelAuthenticationError(ModelError):
    status_code = 401


class ModelPermissionDeniedError(ModelError):
    status_code = 403


class ModelInvalidRequestError(ModelError):
    status_code = 400


class ContextOverflowError(ModelInvalidRequestError):
    pass


class ModelNotFoundError(ModelError):
    status_code = 404


class ModelRateLimitError(ModelError):
    status_code = 429
    is_retryable = True

    def __init__(self, message: str, *, retryable: bool = True, **kw: Any) -> None:
        super().__init__(message, **kw)
        # insufficient_quota is a 429 that no amount of waiting fixes
        self.is_retryable = retryable


class ModelAPIError(ModelError):
    is_retryable = True


class ModelConnectionError(ModelError):
    is_retryable = True


class ModelTimeoutError(ModelError):
    is_retryable = True


class ModelRefusalError(ModelError):
    def __init__(self, message: str, *, raw_message: Any = None, **kw: Any) -> None:
        self.raw_message = raw_message
        super().__init__(message, **kw)


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str | None = None,
    context_overflow: bool = False,
    retryable: bool | None = None,
    **kw: Any,
) -> ModelError:
    """Map an HTTP status to the error tree. Providers call this from `classify_error`."""
    cls: type[ModelError]
    if status == 401:
        cls = ModelAuthenticationError
    elif status == 403:
        cls = ModelPermissionDeniedError
    elif status == 404:
        cls = ModelNotFoundError
    elif status == 429:
        return ModelRateLimitError(
            message,
            provider=provider,
            status_code=status,
            retryable=True if retryable is None else retryable,
            **kw,
        )
    elif status in (408, 409) or status >= 500:
        cls = ModelAPIError
    elif context_overflow:
        cls = ContextOverflowError
    else:
        cls = ModelInvalidRequestError
    err = cls(message, provider=provider, status_code=status, **kw)
    if retryable is not None:
        err.is_retryable = retryable
    return err


# --- user templates (appended: the sandboxed renderer) -------------------------------------


class TemplateError(SuiteError):
    """A user template failed: syntax, an undefined variable, a sandbox refusal, or a size limit.
    Raised without location by the renderer; the suite code re-raises it naming file, case and field."""


# --- replies from other libraries (appended: the pytest helpers' coercion) -----------------


class TargetError(HarnessError):
    """A suite target (the user's function) raised or returned something that is no reply. `text` is
    the message the record and the report show: the exception with the traceback of the user's code."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class UnsupportedReplyError(HarnessError, TypeError):
    """An object given as a model reply is none of the kinds harness reads. The message names the
    accepted kinds and the type received."""
