"""One chatsync run of one provider, as ``chatsync run --provider P`` does it, with its figures.

    .venv/bin/python -m bench.chatsync_run --provider owlbot --url URL --key KEY --workdir DIR

The run goes through ``pipelines.engine.runner.execute`` (lock, repair, state sync, extract, normalize,
load, views): the product path, not a shortcut. The CPU of each dlt step is taken at dlt's own
trace hooks. Prints one JSON line of figures (see ``bench.perf``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

from dlt.pipeline import trace as dlt_trace

ID_SETTING = {"example_ai": "CONVERSATION_IDS", "feedloop": "CONVERSATION_IDS", "chatnode": "BOT_IDS"}


class StepClock:
    """A dlt tracking module that records wall and CPU seconds of each pipeline step."""

    def __init__(self) -> None:
        self.started: dict[str, tuple[float, float]] = {}
        self.spent: dict[str, list[float]] = {}
        self.peak_mb_after: dict[str, float] = {}  # peak RSS when each step ended: which step set it
        self.rss_mb_at_start: dict[str, float] = {}

    def on_start_trace(self, *_: Any) -> None:
        """Unused hook."""

    def on_end_trace(self, *_: Any) -> None:
        """Unused hook."""

    def on_start_trace_step(self, _trace: Any, step: str, _pipeline: Any) -> None:
        """Notes the clocks when a step starts."""
        self.started[step] = (time.perf_counter(), time.process_time())
        self.rss_mb_at_start[step] = _current_rss_mb()

    def on_end_trace_step(self, _trace: Any, step: Any, *_: Any) -> None:
        """Adds the step's wall and CPU seconds."""
        name = step.step
        wall, cpu = self.started.pop(name, (time.perf_counter(), time.process_time()))
        spent = self.spent.setdefault(name, [0.0, 0.0])
        spent[0] += time.perf_counter() - wall
        spent[1] += time.process_time() - cpu
        self.peak_mb_after[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):  # not Linux
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def provider_environment(provider: str, url: str, key: str, workers: int) -> dict[str, str]:
    """The ordinary dlt environment variables that point the provider at the simulator (its ids aside)."""
    section = f"SOURCES__{provider.upper()}__"
    return {section + "BASE_URL": url, section + "API_KEY": key, section + "MAX_WORKERS": str(workers)}


def configure(provider: str, url: str, key: str, ids: str, workers: int) -> None:
    """Points the provider at the simulator through the ordinary dlt environment variables."""
    os.environ.update(provider_environment(provider, url, key, workers))
    if provider in ID_SETTING:
        os.environ[f"SOURCES__{provider.upper()}__{ID_SETTING[provider]}"] = ids
    os.environ.setdefault("CHATSYNC__PII_KEY", "bench-key-not-secret")
    os.environ["DLT_PROJECT_DIR"] = str(Path(__file__).resolve().parents[1])


def main() -> None:
    """Runs one provider once and prints its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--provider", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ids-file", help="a JSON list: conversation ids, or ChatNode bot ids")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--audit", choices=("quick", "full", "sample"), help="audit instead of run (sample: 10%%)")
    parser.add_argument("--requests-per-second", type=float, help="[sources.<p>] requests_per_second (and burst)")
    args = parser.parse_args()
    ids = Path(args.ids_file).read_text() if args.ids_file else "[]"
    configure(args.provider, args.url, args.key, ids, args.workers)
    if args.requests_per_second:
        os.environ[f"SOURCES__{args.provider.upper()}__REQUESTS_PER_SECOND"] = str(args.requests_per_second)
        os.environ[f"SOURCES__{args.provider.upper()}__BURST"] = str(args.requests_per_second)
    from pipelines.engine.runner import execute  # after the environment is set
    from pipelines.engine.target import Target

    clock = StepClock()
    dlt_trace.TRACKING_MODULES.append(clock)  # type: ignore[arg-type]
    work = Path(args.workdir)
    target = Target(pipelines_dir=str(work / "pipelines"), duckdb_path=str(work / "chatsync.duckdb"))
    started, cpu = time.perf_counter(), time.process_time()
    if args.audit:
        _audit(target, args.provider, args.audit, started)
        return
    report = execute(target, [args.provider], insights=False)  # the load alone: insights are benched apart
    outcome = report.outcomes[0]
    print(
        json.dumps(
            {
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "seconds": time.perf_counter() - started,
                "cpu_seconds": time.process_time() - cpu,
                "extract_cpu_seconds": clock.spent.get("extract", [0, 0])[1],
                "steps": {name: round(wall, 3) for name, (wall, _) in clock.spent.items()},
                "peak_mb_after": clock.peak_mb_after,
                "rss_mb_at_start": clock.rss_mb_at_start,
                "messages": outcome.loaded_rows.get("messages", 0),
                "new_messages": outcome.new_rows.get("messages", 0),
                "requests": outcome.observer.requests,
                "exit_code": int(report.exit_code()),
                "error": outcome.error or report.setup_error or report.views_error,
            }
        )
    )


def _audit(target: Any, provider: str, mode: str, started: float) -> None:
    from pipelines.audit.audit import audit

    cpu = time.process_time()
    report = audit(target, [provider], full=mode != "quick", sample=10 if mode == "sample" else None, seed=1)
    audited = report.audits[0]
    figures = {
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "extract_cpu_seconds": time.process_time() - cpu,
        "messages": 0,
        "requests": audited.requests,
        "checked": audited.checked,
        "exit_code": int(report.exit_code()),
        "error": audited.error or (None if report.exit_code() == 0 else f"audit exit {int(report.exit_code())}"),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
