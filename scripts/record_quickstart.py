"""Record cassettes/quickstart/ from the local provider emulator, through the real recording path.

    python scripts/record_quickstart.py

1. Starts `ProviderEmulator` with a scripted reply function giving realistic answers ("Paris" for
   the capital question, a tool call then a weather sentence, a JSON movie record, a haiku), and
   provider-like latency (time to first token, pacing of streamed chunks).
2. Runs `harness run suites/quickstart.yaml --record-mode all` in a subprocess with each provider's
   base-URL environment variable (OPENAI_BASE_URL, ANTHROPIC_BASE_URL, GOOGLE_GEMINI_BASE_URL)
   pointed at the emulator and dummy API keys (scrubbed from the cassettes like real ones).
3. Rewrites each recorded URL from the emulator's loopback address to the provider's public endpoint
   (the adapter's default base URL; the paths are the same), because a fresh clone replays without
   the emulator and its models send to the public endpoints. Nothing else in the files is changed.
4. Replays the suite with no keys, CI=1 and no base URLs, and fails if any cell is not replayed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.providers import adapter_for_url, get_adapter_class  # noqa: E402
from harness.testing import EmulatedRequest, ProviderEmulator, Reply, ToolCallSpec  # noqa: E402

SUITE = ROOT / "suites" / "quickstart.yaml"
CASSETTES = ROOT / "cassettes" / "quickstart"
PROVIDERS = ("openai", "anthropic", "google_genai")
MOVIE = {"title": "Inception", "director": "Christopher Nolan", "year": 2010}
HAIKU = "Waves fold into foam\nsalt wind carries gull voices\nthe tide keeps its time"
# provider-like pacing: seconds to the first token and between streamed chunks
PACE = {"openai": (0.32, 0.018), "anthropic": (0.45, 0.025), "google_genai": (0.38, 0.03)}


def reply(req: EmulatedRequest) -> Reply:
    ttft, delay = PACE.get(req.provider.split("_responses")[0], (0.35, 0.02))
    pace = {"ttft": ttft, "chunk_delay": delay, "chunk_chars": 6}
    last = req.last_message
    question = req.last_user_text.lower()
    forced = req.tool_choice.get("name") if isinstance(req.tool_choice, dict) else None
    if req.response_schema is not None or forced == "movie":
        if forced:
            return Reply(tool_calls=[ToolCallSpec("movie", dict(MOVIE))], **pace)
        return Reply(text=json.dumps(MOVIE), **pace)
    if req.tools and last.get("role") != "tool":
        return Reply(tool_calls=[ToolCallSpec("get_weather", {"location": "Boston"})], **pace)
    if last.get("role") == "tool":
        return Reply(
            text=f"It's {last.get('content')} right now, a good day to be outside.".replace(
                "It's sunny, 22°C in Boston", "It's sunny and 22°C in Boston"
            ),
            **pace,
        )
    if "capital" in question:
        return Reply(text="The capital of France is Paris.", **pace)
    if "haiku" in question:
        return Reply(text=HAIKU, **pace)
    return Reply(text="I can help with that.", **pace)


def public_urls(directory: Path) -> int:
    """Point recorded URLs (and Host headers) at each provider's public endpoint."""
    changed = 0
    for path in sorted(directory.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        hosts: dict[str, str] = {}

        def swap(match: re.Match[str], path: Path = path, hosts: dict[str, str] = hosts) -> str:
            url = match.group(2)
            cls = adapter_for_url(url)
            if cls is None or not cls.default_base_url:
                raise SystemExit(f"{path}: no provider recognises {url}")
            public = urlsplit(cls.default_base_url)
            local = urlsplit(url)
            hosts[local.netloc] = public.netloc
            return f"{match.group(1)}{public.scheme}://{public.netloc}{local.path}" + (
                f"?{local.query}" if local.query else ""
            )

        new = re.sub(r"^(\s*uri: )(http://127\.0\.0\.1:\d+\S*)$", swap, text, flags=re.M)
        for local, public in hosts.items():
            new = new.replace(f"- {local}\n", f"- {public}\n")
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def main() -> int:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL")) and k != "CI"}
    with ProviderEmulator(reply_fn=reply, latency=0.4) as emu, tempfile.TemporaryDirectory() as tmp:
        rec_env = dict(env)
        for provider in PROVIDERS:
            cls = get_adapter_class(provider)
            rec_env[cls.base_url_env[0]] = emu.base_url(provider)
            for var in cls.api_key_env[:1]:
                rec_env[var] = f"dummy-{provider}-key-for-the-emulator"
        cmd = [
            sys.executable,
            "-m",
            "harness",
            "run",
            str(SUITE),
            "--record-mode",
            "all",
            "--out",
            f"{tmp}/record",
            "--no-report",
            "--concurrency",
            "4",
            "--no-progress",
        ]
        print("recording:", " ".join(cmd[2:]), flush=True)
        code = subprocess.call(cmd, env=rec_env, cwd=ROOT)
        if code != 0:
            print(f"recording run exited {code}", file=sys.stderr)
            return code
        print(f"rewrote URLs in {public_urls(CASSETTES)} cassettes", flush=True)
        replay_env = dict(env, CI="1")
        cmd = [
            sys.executable,
            "-m",
            "harness",
            "run",
            str(SUITE),
            "--out",
            f"{tmp}/replay",
            "--no-report",
            "--no-progress",
        ]
        code = subprocess.call(cmd, env=replay_env, cwd=ROOT)
        lines = Path(f"{tmp}/replay/results.jsonl").read_text(encoding="utf-8").splitlines()
        states = {json.loads(line)["cassette"]["state"] for line in lines}
        if code != 0 or states != {"replayed"}:
            print(f"replay check failed: exit {code}, cassette states {states}", file=sys.stderr)
            return 1
    print("quickstart cassettes recorded and replay-checked", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
