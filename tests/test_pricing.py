"""Price table: lookups (exact, dated snapshots, region prefixes, other sections, wildcards), cost,
user overrides, and one clear line for a malformed prices file."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.pricing import ENV_VAR, Price, PriceTable, load_prices, parse_prices


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return load_prices()


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-4.1-mini", "gpt-4.1-mini"),
        ("openai", "gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),  # dated snapshot
        ("openai", "gpt-4.1-2025-04-14", "gpt-4.1"),
        ("openai", "GPT-4o-mini", "gpt-4o-mini"),  # case-insensitive
        ("openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),  # exact beats snapshot
        ("openai", "o3-2025-04-16", "o3"),
        ("openai", "chatgpt-4o-latest", "chatgpt-4o-latest"),
        ("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("anthropic", "claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("anthropic", "claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
        ("google_genai", "gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash"),
        ("google_genai", "gemini-2.0-flash-001", "gemini-2.0-flash"),
        ("bedrock_converse", "anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5"),
        ("bedrock_converse", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-haiku-4-5"),
        ("bedrock_converse", "amazon.nova-pro-v1:0", "amazon.nova-pro"),
        ("bedrock_converse", "meta.llama3-3-70b-instruct-v1:0", "meta.llama3-3-70b-instruct"),
    ],
)
def test_price_for_matches_exact_then_snapshot(table, provider, model, expected):
    price = table.price_for(provider, model)
    assert price is not None
    assert price == table.prices[provider][expected]


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai", "gpt-4.1-mini-turbo"),  # a different model, not a snapshot of gpt-4.1-mini
        ("openai", "o3-deep-research"),
        ("anthropic", "claude-opus-4-9"),  # "-9" is a version, not a date: never priced as claude-opus-4
        ("openai", "my-finetune"),
        ("openai", ""),
    ],
)
def test_unknown_models_have_no_price(table, provider, model):
    assert table.price_for(provider, model) is None


def test_different_models_sharing_a_prefix_keep_their_own_price(table):
    assert table.price_for("google_genai", "gemini-2.5-flash-lite").input == 0.10
    assert table.price_for("google_genai", "gemini-2.5-flash").input == 0.30
    assert table.price_for("openai", "gpt-4o-mini").input == 0.15
    assert table.price_for("openai", "gpt-4o").input == 2.50


def test_other_providers_and_provider_strings(table):
    # an Azure deployment or the Responses API named like an OpenAI model uses OpenAI's price
    assert table.price_for("azure_openai", "gpt-4.1") == table.prices["openai"]["gpt-4.1"]
    assert table.price_for("openai_responses", "o4-mini") == table.prices["openai"]["o4-mini"]
    assert table.price_for("", "anthropic:claude-haiku-4-5") == table.prices["anthropic"]["claude-haiku-4-5"]
    assert table.price_for(None, "gpt-5-mini") == table.prices["openai"]["gpt-5-mini"]


def test_local_ollama_models_are_free(table):
    assert table.price_for("ollama", "llama3.2:3b") == Price(0.0, 0.0)
    assert table.cost("ollama", "qwen3:8b", {"input_tokens": 5000, "output_tokens": 900}) == 0.0


def test_cost_bills_cached_and_cache_write_tokens_at_their_rates(table):
    # gpt-4.1-mini: 0.40 input, 0.10 cached, 1.60 output per million
    usage = {"input_tokens": 1000, "output_tokens": 500, "cache_read_tokens": 400, "reasoning_tokens": 100}
    assert table.cost("openai", "gpt-4.1-mini", usage) == pytest.approx(
        (600 * 0.40 + 400 * 0.10 + 500 * 1.60) / 1e6
    )
    # claude-sonnet-4-5: 3 input, 0.30 read, 3.75 write, 15 output
    usage = {
        "input_tokens": 3000,
        "output_tokens": 100,
        "cache_read_tokens": 1000,
        "cache_creation_tokens": 1500,
    }
    expected = (500 * 3 + 1000 * 0.30 + 1500 * 3.75 + 100 * 15) / 1e6
    assert table.cost("anthropic", "claude-sonnet-4-5", usage) == pytest.approx(expected)


def test_cached_tokens_at_input_rate_when_no_cached_price():
    t = PriceTable({"acme": {"m1": Price(input=2.0, output=4.0)}})
    assert t.cost(
        "acme", "m1", {"input_tokens": 10, "cache_read_tokens": 10, "output_tokens": 0}
    ) == pytest.approx(20 / 1e6)


def test_cost_is_none_when_price_or_usage_unknown(table):
    assert table.cost("openai", "my-finetune", {"input_tokens": 10, "output_tokens": 10}) is None
    assert table.cost("openai", "gpt-4.1", {}) is None
    assert table.cost("openai", "gpt-4.1", None) is None


def test_user_file_overrides_and_adds(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    user = tmp_path / "prices.yaml"
    user.write_text(
        "openai:\n  gpt-4.1-mini: {input: 1, output: 2}\n"
        "acme:\n  acme-large: {input: 3, cached_input: 0.5, output: 9}\n"
    )
    t = load_prices(user)
    assert t.price_for("openai", "gpt-4.1-mini-2025-04-14") == Price(input=1.0, output=2.0)
    assert t.price_for("acme", "acme-large") == Price(input=3.0, output=9.0, cached_input=0.5)
    assert t.price_for("openai", "gpt-4.1") == load_prices().price_for("openai", "gpt-4.1")  # others kept


def test_env_var_names_a_user_file_and_the_argument_wins(tmp_path, monkeypatch):
    env_file = tmp_path / "env.yaml"
    env_file.write_text("openai:\n  gpt-4o: {input: 7, output: 7}\n  gpt-4o-mini: {input: 8, output: 8}\n")
    arg_file = tmp_path / "arg.yaml"
    arg_file.write_text("openai:\n  gpt-4o: {input: 9, output: 9}\n")
    monkeypatch.setenv(ENV_VAR, str(env_file))
    assert load_prices().price_for("openai", "gpt-4o").input == 7
    t = load_prices(arg_file)
    assert t.price_for("openai", "gpt-4o").input == 9
    assert t.price_for("openai", "gpt-4o-mini").input == 8


def test_empty_user_file_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    assert len(load_prices(empty)) == len(load_prices())


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("openai:\n  gpt-4o: {input: 1, output: 2\n", 3, "invalid YAML"),
        ("- openai\n", 1, "the top level must map provider names to their models; got a list"),
        (
            "openai:\n  gpt-4o: 2.5\n",
            2,
            "openai.gpt-4o: expected a mapping of input, output (required), cached_input",
        ),
        (
            "openai:\n  gpt-4o:\n    input: 1\n    outptu: 2\n",
            4,
            "openai.gpt-4o: unknown key 'outptu'; allowed: input, "
            "output (required), cached_input, cache_write",
        ),
        (
            "openai:\n  gpt-4o:\n    input: cheap\n    output: 2\n",
            3,
            "openai.gpt-4o.input: expected a non-negative number (USD per million tokens); got 'cheap'",
        ),
        ("openai:\n  gpt-4o: {input: -1, output: 2}\n", 2, "expected a non-negative number"),
        ("openai:\n  gpt-4o: {input: 1}\n", 2, "openai.gpt-4o: missing output; required: input, output"),
        ("openai: [gpt-4o]\n", 1, "provider 'openai' must map model names to prices; got a list"),
    ],
)
def test_malformed_user_file_names_file_and_line(tmp_path, monkeypatch, text, line, message):
    monkeypatch.delenv(ENV_VAR, raising=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(InputError) as e:
        load_prices(bad)
    assert e.value.path == str(bad) and e.value.line == line
    assert str(e.value).startswith(f"{bad}:{line}: ")
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_user_file_is_an_input_error(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope.yaml"))
    with pytest.raises(InputError, match="nope.yaml: cannot read the prices file"):
        load_prices()


def test_packaged_table_is_valid_and_covers_each_provider(table):
    assert {"openai", "anthropic", "google_genai", "bedrock_converse", "ollama"} <= set(table.prices)
    for models in table.prices.values():
        for price in models.values():
            assert price.input >= 0 and price.output >= 0
    assert parse_prices("").prices == {}
