"""Several runs as one: the shards of a run (`harness run --shard K/N`, one per CI job) and the
`--harness-results` files of several pytest jobs, merged into one run directory, and any run written
as a Parquet dataset partitioned by run and model.

    from harness.results.merge import merge_runs
    merged = merge_runs(["runs/s1", "runs/s2", "pytest-a/results.jsonl"], "runs/all")
    merged.run_dir, merged.cells, merged.duplicates, merged.missing_shards

A source is a run directory (its results.jsonl, plus any part files a killed run's workers left) or a
results file written by the pytest plugin (`--harness-results out.jsonl`). The merged run has one
record per cell (should two sources hold the same cell, the one given last counts, as everywhere) and
the summary those records give, so it reads, reports and exports like any run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.results.io import (
    PART_GLOB,
    RESULTS_FILE,
    iter_records,
    latest,
    load_run_meta,
    loads_line,
    records_frame,
    scalar_frame,
    write_run,
)
from harness.results.record import CellKey, new_run_id
from harness.results.summary import summarize


@dataclass
class MergedRun:
    run_dir: Path
    cells: int
    duplicates: int  # cells found in more than one source (the last one kept)
    missing_shards: list[str] = field(default_factory=list)  # "2/4": shards of a run not among the sources


def _file_records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield loads_line(line)
            except ValueError as e:
                if not line.endswith(b"\n"):
                    return  # a half-written last line: readers skip it
                raise InputError(f"corrupt results record, {e}", path=str(path), line=lineno) from None


def read_source(source: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The records and run.json of a run directory or of a results file (run.json beside it, if any)."""
    path = Path(source)
    if path.is_dir():
        if not (path / RESULTS_FILE).is_file() and not any(path.glob(PART_GLOB)):
            raise InputError(f"no {RESULTS_FILE} in this run directory", path=str(path))
        records = list(iter_records(path))
        for part in sorted(path.glob(PART_GLOB)):
            records.extend(_file_records(part))
        return records, load_run_meta(path)
    if path.is_file():
        meta = load_run_meta(path.parent) if path.name == RESULTS_FILE else {}
        return list(_file_records(path)), meta
    raise InputError("does not exist; expected a run directory or a results .jsonl file", path=str(path))


def _common(values: Sequence[Any], fallback: Any) -> Any:
    distinct = list(dict.fromkeys(v for v in values if v is not None))
    return distinct[0] if len(distinct) == 1 else fallback


def _missing_shards(metas: Sequence[dict[str, Any]]) -> list[str]:
    seen: dict[int, set[int]] = {}
    for meta in metas:
        shard = str((meta.get("config") or {}).get("shard") or "")
        k, _, n = shard.partition("/")
        if k.isdigit() and n.isdigit():
            seen.setdefault(int(n), set()).add(int(k))
    return [f"{k}/{n}" for n, ks in sorted(seen.items()) for k in range(1, n + 1) if k not in ks]


def merged_meta(
    records: list[dict[str, Any]], metas: Sequence[dict[str, Any]], sources: Sequence[str]
) -> dict[str, Any]:
    models: dict[str, dict[str, Any]] = {}
    for meta in metas:
        for m in meta.get("models") or []:
            models.setdefault(str(m.get("id")), m)
    for r in records:
        mid = str(r.get("model_id") or r.get("model"))
        models.setdefault(mid, {"id": mid, "model": r.get("model"), "provider": r.get("provider")})
    suites = [m.get("suite") for m in metas] + [r.get("suite") for r in records]
    started = [str(m["started_at"]) for m in metas if m.get("started_at")]
    finished = [str(m["finished_at"]) for m in metas if m.get("finished_at")]
    configs = [{k: v for k, v in (m.get("config") or {}).items() if k != "shard"} for m in metas]
    config = dict(configs[0]) if configs and all(c == configs[0] for c in configs) else {}
    config["merged_from"] = list(sources)
    return {
        "run_id": _common([m.get("run_id") for m in metas] + [r.get("run_id") for r in records], None)
        or new_run_id(),
        "suite": _common(suites, "merged"),
        "suite_path": _common([m.get("suite_path") for m in metas], None),
        "models": list(models.values()),
        "config": config,
        "started_at": min(started) if started else None,
        "finished_at": max(finished) if finished else None,
        "summary": summarize(records),
    }


def merge_runs(sources: Sequence[str | Path], out: str | Path) -> MergedRun:
    """Write the records of every source as one run directory `out` (which must hold no results yet)."""
    out = Path(out)
    if (out / RESULTS_FILE).is_file() and (out / RESULTS_FILE).stat().st_size:
        raise InputError("already holds results; choose another --out", path=str(out))
    if not sources:
        raise InputError("nothing to merge: give at least one run directory or results file", path=str(out))
    by_key: dict[CellKey, dict[str, Any]] = {}
    metas: list[dict[str, Any]] = []
    duplicates = 0
    for source in sources:
        records, meta = read_source(source)
        metas.append(meta)
        for key, record in latest(records).items():
            duplicates += key in by_key
            by_key[key] = record
    records = list(by_key.values())
    meta = merged_meta(records, metas, [str(s) for s in sources])
    for record in records:  # one run now: its records carry its id (the same as each shard's when
        record["run_id"] = meta["run_id"]  # the shards share one, e.g. a CI run id)
    write_run(out, records, meta)
    return MergedRun(out, len(records), duplicates, _missing_shards(metas))


def write_parquet_dataset(run_dirs: Sequence[str | Path], root: str | Path) -> Path:
    """The runs' records as a Parquet dataset under `root`, partitioned by run and model
    (`root/run_id=<id>/model_id=<id>/<run id>-0.parquet`): pandas, DuckDB or Spark read many runs at
    once (`pd.read_parquet(root)`, `SELECT ... FROM 'root/**/*.parquet'`). Writing a run again replaces
    its partitions."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(
            "Parquet output needs pyarrow: pip install 'harness[parquet]'", path=str(root)
        ) from None
    root = Path(root)
    for run_dir in run_dirs:
        records = list(latest(list(iter_records(run_dir))).values())
        if not records:
            continue
        run_id = str(load_run_meta(run_dir).get("run_id") or records[0].get("run_id") or Path(run_dir).name)
        df = scalar_frame(records_frame(records))
        df["run_id"] = df["run_id"].fillna(run_id).astype(str)
        df["model_id"] = df["model_id"].fillna(df["model"]).astype(str)
        pq.write_to_dataset(
            pa.Table.from_pandas(df, preserve_index=False),
            root,
            partition_cols=["run_id", "model_id"],
            basename_template=f"{_safe(run_id)}-{{i}}.parquet",
            existing_data_behavior="delete_matching",
        )
    return root


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)
