"""Constructor keywords the chat layer sorts before building a model: the proxy (never a body field)
and keywords the provider does not know (moved into model_kwargs with a warning, as LangChain does)."""

from __future__ import annotations

import difflib
import warnings
from typing import Any

from harness.errors import ConfigurationError, UnknownParameterWarning
from harness.providers.base import first_env
from harness.redaction import mask_text, mask_url

# LangChain's per-provider names for `proxy=` (ChatOpenAI, ChatAnthropic)
_PROXY_ALIASES = ("openai_proxy", "anthropic_proxy")


def proxy_setting(
    proxy: str | None, params: dict[str, Any], own_http: object, env_names: tuple[str, ...] = ()
) -> str | None:
    """`proxy=` or its LangChain alias, taken out of the request parameters (never sent in a body);
    else the provider's LangChain variable (`OPENAI_PROXY`, `ANTHROPIC_PROXY`) unless the user passed
    their own client. None: httpx's own rules (`HTTP(S)_PROXY`, `ALL_PROXY`, `NO_PROXY`) apply."""
    for alias in _PROXY_ALIASES:
        value = params.pop(alias, None)
        if value is not None:
            if proxy is not None and value != proxy:
                raise ConfigurationError(f"pass one proxy: proxy={proxy!r} and {alias}={value!r} differ")
            proxy = value
    if proxy is not None and own_http is not None:
        raise ConfigurationError(
            "proxy= applies to the HTTP clients harness makes; with http_client= / transport= set the "
            "proxy on your own client (httpx.Client(proxy=...)) instead"
        )
    if proxy is None and own_http is None:
        proxy = first_env(env_names)
    if proxy is not None:
        _check_proxy(proxy)
    return proxy


def _check_proxy(proxy: str) -> None:
    """A proxy URL httpx would refuse when the first call builds its client: refused now, in one line
    that never shows the URL's password."""
    import httpx

    try:
        httpx.Proxy(proxy)
    except (ValueError, TypeError) as e:
        problem = mask_text(str(e).replace(str(proxy), mask_url(str(proxy))), ())
        raise ConfigurationError(
            f"proxy {mask_url(str(proxy))!r}: {problem}; allowed: an http://, https:// or socks5:// URL"
        ) from None


def move_unknown(
    params: dict[str, Any], model_kwargs: dict[str, Any], known: frozenset[str] | None, provider: str
) -> None:
    """LangChain's rule: a constructor keyword the provider does not know goes into model_kwargs (sent
    in the body as is), with a warning, so a misspelling is seen rather than silently sent."""
    if known is None:
        return
    for name in [k for k in params if k not in known]:
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        warnings.warn(
            UnknownParameterWarning(
                f"{name!r} is not a parameter {provider} knows: moved into model_kwargs and sent in the "
                f"request body as is.{hint} Pass it as model_kwargs={{{name!r}: ...}} if you meant it.",
                name=name,
                provider=provider,
                hint=hint,
            ),
            stacklevel=5,
        )
        model_kwargs[name] = params.pop(name)
