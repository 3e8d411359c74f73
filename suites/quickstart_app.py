"""The quickstart's target: a small "app" evaluated as a whole (docs/targets.md).

`harness run suites/quickstart.yaml` calls `packing_advice` once per model with a `TargetInput`; the
app builds its own prompt, runs a tool loop on `inp.model` and returns its answer. Every model call it
makes is recorded in (and replayed from) the cell's cassette, and the results record sums them.
"""

from __future__ import annotations

from harness import tool
from harness.runner import TargetInput


@tool
def get_weather(location: str) -> str:
    """Current weather for a city."""
    return f"sunny, 22°C in {location}"


def packing_advice(inp: TargetInput) -> dict[str, object]:
    llm = inp.model.bind_tools([get_weather])
    messages: list[object] = [
        ("system", "You help travellers pack. Check the weather before you answer."),
        ("user", f"I'm flying to {inp.vars['city']} today. What's the weather there right now?"),
    ]
    for _turn in range(3):
        ai = llm.invoke(messages)
        messages.append(ai)
        if not ai.tool_calls:
            break
        messages += [get_weather.invoke(call) for call in ai.tool_calls]
    return {
        "output": ai,
        "metadata": {"model_calls": sum(1 for m in messages if getattr(m, "type", "") == "ai")},
    }
