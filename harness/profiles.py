"""Model profiles: what a model supports, as LangChain's `model.profile` gives it.

The packaged table (harness/data/profiles.yaml) maps provider and model name to a dict with
LangChain's `ModelProfile` keys (max_input_tokens, max_output_tokens, image_inputs, pdf_inputs,
audio_inputs, video_inputs, image_outputs, reasoning_output, tool_calling, tool_choice,
structured_output, ...). Names match as in the price table (`harness.pricing.lookup_model`); a
model found nowhere has the profile {}.

May import: `harness.errors`, `harness.pricing`.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigurationError
from harness.pricing import lookup_model

PACKAGED_PROFILES = Path(__file__).parent / "data" / "profiles.yaml"
_DEFAULTS = "_defaults"
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it: 6x faster


@functools.cache
def _table() -> dict[str, dict[str, dict[str, Any]]]:
    data = yaml.load(PACKAGED_PROFILES.read_text(encoding="utf-8"), Loader=_LOADER)
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for provider, models in data.items():
        defaults = models.get(_DEFAULTS, {})
        table[provider.lower()] = {
            name.lower(): {**defaults, **entry} for name, entry in models.items() if name != _DEFAULTS
        }
    return table


def model_profile(provider: str | None, model: str) -> dict[str, Any]:
    """A fresh copy of the packaged profile of `model` ({} when the table has no entry for it)."""
    found = lookup_model(_table(), provider, model)
    return _copy(found) if found is not None else {}


def _copy(value: Any) -> Any:
    """A deep copy of the table's plain YAML data (dicts, lists, immutable scalars), without
    `copy.deepcopy`'s bookkeeping: every model built copies its profile."""
    if isinstance(value, dict):  # scalars (most of a profile) are kept without a call each
        return {k: _copy(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def checked_profile(profile: Any) -> dict[str, Any]:
    """A user's `profile=`: a dict (copied, so later changes to theirs do not reach the model)."""
    if not isinstance(profile, dict):
        raise ConfigurationError(
            f"profile= must be a dict of model capabilities such as {{'max_input_tokens': 100000, "
            f"'tool_calling': True}}; got {type(profile).__name__}"
        )
    return copy.deepcopy(profile)
