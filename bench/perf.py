"""chatsync against a hand-written client, side by side, on the same simulator: ``make bench``.

    .venv/bin/python -m bench.perf [--sizes 10000 100000] [--providers owlbot ...] [--workers 8]
    .venv/bin/python -m bench.perf --sizes 10000 100000 1000000     # the 1M full load too (~opt-in)

Per provider and scenario it prints wall time, messages/s, requests/s, peak RSS, CPU ms per
request in extract, and the ratio to the baseline, then checks the targets; the same goes to
``bench/RESULTS.md`` with the machine and the date.

- Every run is a child process (its own peak RSS and CPU), against a simulator in another
  process; the simulator's own CPU per request and how busy it was are printed, so a saturated
  simulator shows.
- Full loads (sizes are messages per provider): ``bench.handwritten`` against
  ``bench.chatsync_run`` (the product path: lock, state, extract, normalize, load, views).
- No-op: chatsync again on the full history, against the same requests issued bare.
- 1% new: the clock moves 1% of the history on; chatsync's incremental run against its own full
  load (OwlBot's and ChatNode's listings, which no client can avoid, timed bare and set aside).
- Fan-out: chatsync with 1 worker against 8, with 20 ms latency per response.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from rich.console import Console
from rich.table import Table

from simulator import Corpus

from .chatsync_run import ID_SETTING, provider_environment
from .harness import RemoteSimulator, simulator_process

PROVIDERS = ("example_ai", "owlbot", "chatnode", "feedloop")
SPAN_DAYS = 365.0  # a year of history: the 1% run and the ChatNode lookback see realistic shares
SEED = 5
BOTS = 2
RESULTS = Path(__file__).with_name("RESULTS.md")
LISTING_PATHS = {"owlbot": ("/login/checkToken", "/conversation"), "chatnode": ("/get-conversation-ids/",)}


@dataclass
class Measured:
    """One child run's figures."""

    provider: str
    scenario: str
    tool: str
    seconds: float
    messages: int
    requests: int
    rss_mb: float
    extract_cpu_seconds: float
    sim_cpu_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
    baseline: Measured | None = None

    @property
    def cpu_ms_per_request(self) -> float:
        """CPU of the extract step (the whole load for the baseline) per request."""
        return 1000 * self.extract_cpu_seconds / max(self.requests, 1)

    @property
    def ratio(self) -> float | None:
        """Wall time over the baseline's (a rate-limited load: over the limit's floor)."""
        if "floor_seconds" in self.extra:
            return float(self.seconds / self.extra["floor_seconds"])
        return self.seconds / self.baseline.seconds if self.baseline else None

    @property
    def sim_busy(self) -> float:
        """Share of the wall time the simulator spent on CPU (1.0: it was the bottleneck)."""
        return self.sim_cpu_seconds / max(self.seconds, 1e-9)


class Bench:
    """Runs children against one simulator and keeps what they measured."""

    def __init__(self, sim: RemoteSimulator, workers: int, root: Path) -> None:
        self.sim, self.workers, self.root = sim, workers, root
        self.results: list[Measured] = []

    def stats(self) -> tuple[int, float]:
        """Requests served and CPU seconds spent by the simulator so far."""
        stats = requests.get(f"{self.sim.url}/_admin/stats", timeout=30).json()
        return int(stats["requests"]), float(stats["cpu_seconds"])

    def ids(self, provider: str) -> str:
        """A file holding the ids a provider needs beyond its URL and key (too many for a command line)."""
        file = Path(tempfile.mkdtemp(dir=self.root)) / "ids.json"
        file.write_text(self._ids(provider))
        return str(file)

    def _ids(self, provider: str) -> str:
        if provider == "chatnode":  # bots are drawn from the seed alone: a tiny corpus has the same ones
            return json.dumps([bot.bot_id for bot in Corpus(seed=SEED, size=4, bots_per_provider=BOTS).bots[provider]])
        if provider in ("example_ai", "feedloop"):
            return json.dumps(self.sim.conversation_ids(provider))
        return "[]"

    def child(
        self, module: str, provider: str, scenario: str, tool: str, *extra: str, workers: int | None = None
    ) -> Measured:
        """Runs one child process (with ``workers``, else the bench's) and records its figures."""
        command = [
            sys.executable,
            "-m",
            module,
            "--provider",
            provider,
            "--url",
            self.sim.base_url(provider),
            "--key",
            self.sim.api_keys[provider],
            "--workers",
            str(workers or self.workers),
            *extra,
        ]
        served, sim_cpu = self.stats()
        output = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True).stdout
        figures = json.loads(output.strip().splitlines()[-1])
        served_after, sim_cpu_after = self.stats()
        if figures.get("error"):
            raise RuntimeError(f"{tool} {provider} {scenario}: {figures['error']}")
        measured = Measured(
            provider,
            scenario,
            tool,
            figures["seconds"],
            int(figures.get("new_messages", figures["messages"])),
            served_after - served,
            figures["rss_mb"],
            figures["extract_cpu_seconds"],
            sim_cpu_after - sim_cpu,
            {k: v for k, v in figures.items() if k in ("steps", "messages")},
        )
        self.results.append(measured)
        return measured

    def handwritten(self, provider: str, scenario: str, *extra: str) -> Measured:
        """The baseline, one full load into a fresh DuckDB file (or a replay)."""
        db = str(Path(tempfile.mkdtemp(dir=self.root)) / "handwritten.duckdb")
        return self.child(
            "bench.handwritten",
            provider,
            scenario,
            "hand-written",
            "--ids-file",
            self.ids(provider),
            "--db",
            db,
            *extra,
        )

    def chatsync(self, provider: str, scenario: str, workdir: Path, workers: int | None = None) -> Measured:
        """One ``chatsync run`` of the provider on the state in ``workdir``."""
        extra = ["--ids-file", self.ids(provider), "--workdir", str(workdir)]
        return self.child("bench.chatsync_run", provider, scenario, "chatsync", *extra, workers=workers)

    def process(
        self, provider: str, scenario: str, tool: str, command: list[str], env: dict[str, str], cwd: Path | None = None
    ) -> Measured:
        """One whole process, timed from outside: interpreter start, imports, the load, exit."""
        served, sim_cpu = self.stats()
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{tool} {provider} {scenario}: exit {os.waitstatus_to_exitcode(status)}")
        served_after, sim_cpu_after = self.stats()
        measured = Measured(
            provider,
            scenario,
            tool,
            seconds,
            0,
            served_after - served,
            usage.ru_maxrss / 1024,
            usage.ru_utime + usage.ru_stime,
            sim_cpu_after - sim_cpu,
        )
        self.results.append(measured)
        return measured

    def replay(self, provider: str, scenario: str, since: int, paths: tuple[str, ...] = ()) -> Measured:
        """The requests served since ``since`` (only those under ``paths``, when given), issued bare."""
        recorded = requests.get(f"{self.sim.url}/_admin/requests", params={"since": since}, timeout=300).json()
        chosen = [
            r for r in recorded if r["provider"] == provider and (not paths or any(p in r["path"] for p in paths))
        ]
        file = Path(tempfile.mkdtemp(dir=self.root)) / "requests.json"
        file.write_text(json.dumps(chosen))
        return self.child("bench.handwritten", provider, scenario, "bare requests", "--replay", str(file))


def full_loads(bench: Bench, providers: list[str], size: int) -> dict[str, Path]:
    """Baseline then chatsync, per provider; returns chatsync's workdirs (state for the next runs)."""
    workdirs = {}
    for provider in providers:
        baseline = bench.handwritten(provider, f"full {size:,}")
        workdirs[provider] = Path(tempfile.mkdtemp(prefix=f"{provider}-", dir=bench.root))
        bench.chatsync(provider, f"full {size:,}", workdirs[provider]).baseline = baseline
    return workdirs


def whole_process_runs(bench: Bench, providers: list[str], size: int) -> None:
    """Each full load as users run it: ``chatsync run`` against the lean script, each a whole process.

    Both are timed from outside, interpreter start to exit, into fresh files. ``chatsync run`` has
    ``[insights] enabled = false`` (the script computes no topics; insights are benched apart). The
    CPU column is the whole process's, so it is not the extract's CPU per request of the rows above.
    """
    scenario = f"full {size:,}, whole process"
    for provider in providers:
        root = Path(tempfile.mkdtemp(prefix=f"{provider}-whole-", dir=bench.root))
        ids = bench.ids(provider)
        url, key = bench.sim.base_url(provider), bench.sim.api_keys[provider]
        lean = [sys.executable, "-m", "bench.handwritten", "--provider", provider, "--url", url, "--key", key]
        lean += ["--ids-file", ids, "--db", str(root / "lean.duckdb"), "--workers", str(bench.workers)]
        baseline = bench.process(provider, scenario, "lean script", lean, dict(os.environ))
        baseline.messages = _count(root / "lean.duckdb", "messages")
        run = [sys.executable, "-m", "pipelines.cli", "-q", "run", "--provider", provider]
        run += ["--warehouse", str(root / "chatsync.duckdb"), "--pipelines-dir", str(root / "pipelines")]
        env = _run_environment(bench, provider, ids, root)
        measured = bench.process(provider, scenario, "chatsync run", run, env, cwd=root)
        measured.messages = _count(root / "chatsync.duckdb", "chat_history.messages")
        measured.baseline = baseline


def _run_environment(bench: Bench, provider: str, ids_file: str, project: Path) -> dict[str, str]:
    """The environment of a ``chatsync run`` in ``project``: a copy of this project's config, the ids in its secrets.

    The ids go into ``.dlt/secrets.toml``: 100k conversation ids are more than one environment
    variable may hold.
    """
    (project / ".dlt").mkdir(exist_ok=True)
    repo = Path(__file__).resolve().parents[1]
    (project / ".dlt" / "config.toml").write_text((repo / ".dlt" / "config.toml").read_text())
    if provider in ID_SETTING:
        setting, ids = ID_SETTING[provider].lower(), Path(ids_file).read_text()
        (project / ".dlt" / "secrets.toml").write_text(f"[sources.{provider}]\n{setting} = {ids}\n")
    url, key = bench.sim.base_url(provider), bench.sim.api_keys[provider]
    return {
        **os.environ,
        **provider_environment(provider, url, key, bench.workers),
        "CHATSYNC__PII_KEY": "bench-key-not-secret",
        "INSIGHTS__ENABLED": "false",
        "DLT_PROJECT_DIR": str(project),
        "PYTHONPATH": str(repo),
    }


def _count(database: Path, table: str) -> int:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def no_op_runs(bench: Bench, workdirs: dict[str, Path]) -> None:
    """chatsync on an unchanged history, against the very requests it made, issued bare."""
    for provider, workdir in workdirs.items():
        since, _ = bench.stats()
        run = bench.chatsync(provider, "no-op", workdir)
        run.baseline = bench.replay(provider, "no-op", since)


def audit_runs(bench: Bench, workdirs: dict[str, Path]) -> None:
    """The audit's cost on the full load: quick and a 10% full sample, beside the no-op run's."""
    no_op = {m.provider: m for m in bench.results if m.scenario == "no-op" and m.tool == "chatsync"}
    for provider, workdir in workdirs.items():
        for mode in ("quick", "sample"):
            extra = ["--ids-file", bench.ids(provider), "--workdir", str(workdir), "--audit", mode]
            scenario = "audit quick" if mode == "quick" else "audit --full 10%"
            measured = bench.child("bench.chatsync_run", provider, scenario, "chatsync audit", *extra)
            measured.baseline = no_op.get(provider)


RATE_LIMIT = 25.0  # requests per second per key, with a burst of as many: the measured case of issue 22
RATE_LIMITED_SIZE = 14_400  # about 400 OwlBot sessions


LIMITER_MODELS = {"bucket": f"{RATE_LIMIT:g}/s", "window": f"{RATE_LIMIT:g}/s,window=2"}
HEADER_NAMES = {"x": "X-RateLimit-*", "ietf": "RateLimit + RateLimit-Policy", "none": "Retry-After alone"}


def rate_limited_runs(scratch: Path, workers: int) -> list[Measured]:
    """A full OwlBot load against a per-key limit: configured, and learned from each header style.

    Two independent limiter models: the simulator's token bucket (burst = one second's worth,
    ``X-RateLimit-Reset`` in seconds until full) and fixed 2-second windows (``X-RateLimit-Reset`` an
    epoch second). The floor is ``successful requests / rate`` seconds (the target's definition); the
    ratio is the load's time over it. A stricter floor grants the first ``burst`` requests for free.
    """
    cases = [("bucket", "x", True)] + [(m, h, False) for m in LIMITER_MODELS for h in HEADER_NAMES]
    return [_rate_limited_run(scratch, workers, *case) for case in cases]


def _rate_limited_run(scratch: Path, workers: int, model: str, headers: str, known: bool) -> Measured:
    spec = LIMITER_MODELS[model]
    with simulator_process(RATE_LIMITED_SIZE, bots=BOTS, seed=SEED, rate_limit=spec, rate_limit_headers=headers) as sim:
        bench = Bench(sim, workers, scratch)
        time.sleep(1.1)  # the simulator's bucket starts full
        since, _ = bench.stats()
        workdir = Path(tempfile.mkdtemp(prefix="owlbot-limited-", dir=scratch))
        extra = ["--ids-file", bench.ids("owlbot"), "--workdir", str(workdir)]
        extra += ["--requests-per-second", f"{RATE_LIMIT:g}"] if known else []
        how = "limit configured" if known else f"learned from {HEADER_NAMES[headers]}"
        run = bench.child("bench.chatsync_run", "owlbot", f"rate-limited {spec}", f"chatsync, {how}", *extra)
        served = requests.get(f"{sim.url}/_admin/requests", params={"since": since}, timeout=60).json()
        refused = sum(r["status"] == 429 for r in served)
        run.extra["refused_share"] = refused / max(len(served), 1)
        run.extra["floor_seconds"] = max(len(served) - refused, 1) / RATE_LIMIT
        run.extra["floor_burst_aside"] = max(len(served) - refused - RATE_LIMIT, 1) / RATE_LIMIT
        return run


def startup_seconds(runs: int = 5) -> float:
    """``chatsync --version``, best of ``runs``, as a new process."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipelines.cli", "--version"], check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def one_percent_runs(bench: Bench, workdirs: dict[str, Path], full: dict[str, Measured]) -> None:
    """The clock moves 1% of the history on; chatsync's incremental run against its own full load."""
    bench.sim.advance(SPAN_DAYS * 86_400 * 0.01)
    for provider, workdir in workdirs.items():
        since, _ = bench.stats()
        run = bench.chatsync(provider, "1% new", workdir)
        run.extra["share_of_full"] = run.seconds / full[provider].seconds
        if provider in LISTING_PATHS:
            listings = bench.replay(provider, "1% new: listings", since, LISTING_PATHS[provider])
            run.extra["share_of_full"] = max(run.seconds - listings.seconds, 0) / full[provider].seconds


def fan_out_runs(bench: Bench, providers: list[str]) -> None:
    """chatsync with one worker, then with ``bench.workers``, each on fresh state."""
    for provider in providers:
        fresh = Path(tempfile.mkdtemp(prefix=f"{provider}-serial-", dir=bench.root))
        serial = bench.chatsync(provider, "fan-out 20 ms", fresh, workers=1)
        fresh = Path(tempfile.mkdtemp(prefix=f"{provider}-concurrent-", dir=bench.root))
        bench.chatsync(provider, "fan-out 20 ms", fresh).baseline = serial
        serial.tool = "chatsync, 1 worker"


COLUMNS = (
    "provider",
    "scenario",
    "tool",
    "wall s",
    "messages",
    "msg/s",
    "requests",
    "req/s",
    "peak RSS MB",
    "CPU ms/req",
    "÷ baseline",
    "sim busy",
    "extract / normalize / load s",
)


def _row(m: Measured) -> list[str]:
    ratio = f"{m.ratio:.2f}" if m.ratio is not None else ""
    if m.scenario.startswith("fan-out") and m.baseline is not None:
        ratio = f"{m.baseline.seconds / m.seconds:.1f}x faster"
    return [
        m.provider,
        m.scenario,
        m.tool,
        f"{m.seconds:.2f}",
        f"{m.messages:,}",
        f"{m.messages / m.seconds:,.0f}",
        f"{m.requests:,}",
        f"{m.requests / m.seconds:,.0f}",
        f"{m.rss_mb:.0f}",
        f"{m.cpu_ms_per_request:.2f}",
        ratio,
        f"{m.sim_busy:.0%}",
        _steps(m),
    ]


def _steps(m: Measured) -> str:
    steps = m.extra.get("steps", {})
    return " / ".join(f"{steps[name]:.1f}" for name in ("extract", "normalize", "load") if name in steps)


@dataclass
class Verdict:
    """One target, the worst figure found for it, and whether it holds."""

    figure: str
    target: str
    measured: str
    met: bool | None  # None: not measured in this run


def _worst(values: dict[str, float], high_is_bad: bool = True) -> tuple[float, str]:
    provider = (max if high_is_bad else min)(values, key=lambda k: values[k])
    return values[provider], provider


def verdicts(results: list[Measured], startup: float | None = None) -> list[Verdict]:
    """Each target of issues 11 and 22 against the figures of this run."""
    chatsync = [m for m in results if m.tool == "chatsync"]
    big = [m for m in chatsync if m.scenario.startswith("full") and m.baseline and m.baseline.messages >= 100_000]
    whole = [m for m in results if m.tool == "chatsync run" and m.baseline and m.baseline.messages >= 100_000]
    largest = [m for m in chatsync + whole if m.scenario.startswith("full") and m.messages >= 900_000]
    checks: list[Verdict] = []

    def judge(
        figure: str, target: str, values: dict[str, float], limit: float, high_is_bad: bool = True, unit: str = ""
    ) -> None:
        if not values:
            checks.append(Verdict(figure, target, "not run", None))
            return
        worst, provider = _worst(values, high_is_bad)
        met = worst <= limit if high_is_bad else worst >= limit
        shown = ", ".join(f"{p} {v:.2f}{unit}" for p, v in values.items())
        checks.append(Verdict(figure, target, f"{shown} (worst {provider})", met))

    judge(
        "Full load ≥100k, chatsync ÷ hand-written",
        "≤ 1.2",
        {f"{m.provider} {m.scenario.split()[-1]}": m.ratio or 0 for m in big},
        1.2,
    )
    judge(
        "Full load ≥100k, whole `chatsync run` process ÷ lean script process",
        "≤ 1.2",
        {f"{m.provider} {m.scenario.split()[1].rstrip(',')}": m.ratio or 0 for m in whole},
        1.2,
    )
    judge(
        "CPU per request in extract ÷ hand-written's",
        "≤ 1.2",
        {
            f"{m.provider} {m.scenario.split()[-1]}": m.cpu_ms_per_request / m.baseline.cpu_ms_per_request
            for m in big
            if m.baseline
        },
        1.2,
    )
    judge(
        "Peak RSS, 1M-message full load",
        "≤ 600 MB",
        {f"{m.provider} ({m.tool})": m.rss_mb for m in largest},
        600,
        unit=" MB",
    )
    judge(
        "No-op, chatsync ÷ its bare requests",
        "≤ 1.3",
        {m.provider: m.ratio or 0 for m in chatsync if m.scenario == "no-op"},
        1.3,
    )
    limited = [m for m in results if m.scenario.startswith("rate-limited")]
    judge(
        "Rate-limited full load ÷ (requests ÷ rate), limit configured",
        "≤ 1.1",
        {m.provider: m.ratio or 0 for m in limited if "configured" in m.tool},
        1.1,
    )
    judge(
        "The same, the burst's requests free: ÷ ((requests - burst) ÷ rate)",
        "≤ 1.1",
        {m.provider: m.seconds / m.extra["floor_burst_aside"] for m in limited if "configured" in m.tool},
        1.1,
    )
    learned = {
        f"{m.scenario.split()[-1]}, {m.tool.split('learned from ')[-1]}": m for m in limited if "learned" in m.tool
    }
    judge(
        "Rate-limited full load ÷ (requests ÷ rate), limit learned (each model, each header style)",
        "≤ 1.1",
        {name: m.ratio or 0 for name, m in learned.items()},
        1.1,
    )
    judge(
        "Requests refused with 429, limit learned",
        "< 2%",
        {name: 100 * m.extra["refused_share"] for name, m in learned.items()},
        2.0,
        unit="%",
    )
    judge(
        "Requests refused with 429 under a known limit",
        "< 2%",
        {m.provider: 100 * m.extra["refused_share"] for m in limited if "configured" in m.tool},
        2.0,
        unit="%",
    )
    judge("Start-up: chatsync --version", "≤ 0.3 s", {"": startup} if startup is not None else {}, 0.3, unit=" s")
    judge(
        "1%-new incremental ÷ full load (listings aside)",
        "≤ 0.05",
        {m.provider: m.extra["share_of_full"] for m in chatsync if m.scenario == "1% new"},
        0.05,
    )
    judge(
        "Fan-out at 20 ms, 8 workers ÷ 1 worker",
        "≥ 6",
        {
            m.provider: m.baseline.seconds / m.seconds
            for m in chatsync
            if m.scenario.startswith("fan-out") and m.baseline
        },
        6,
        high_is_bad=False,
    )
    return checks


def render(results: list[Measured], checks: list[Verdict], sim_ms_per_request: float) -> None:
    """Prints the figures and the targets."""
    console = Console(width=200)
    table = Table(title="chatsync vs a hand-written client (same simulator, same run)")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("provider", "scenario", "tool") else "right")
    for m in results:
        table.add_row(*_row(m))
    console.print(table)
    console.print(
        f"simulator: {sim_ms_per_request:.2f} ms CPU per request, so at most "
        f"{1000 / sim_ms_per_request:,.0f} requests/s on one core"
    )
    targets = Table(title="targets")
    for column in ("figure", "target", "measured", "met"):
        targets.add_column(column)
    for check in checks:
        targets.add_row(check.figure, check.target, check.measured, _met(check.met))
    console.print(targets)


def _met(met: bool | None) -> str:
    return "not run" if met is None else ("yes" if met else "NO")


def write_results(
    results: list[Measured], checks: list[Verdict], sim_ms_per_request: float, argv: list[str], path: Path
) -> None:
    """``bench/RESULTS.md``: the machine, the date, the figures and the targets."""
    lines = [
        "# Benchmark results (`python -m bench.perf`: `make bench`, `make bench-1m`)",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs ({_cpu_model()}), Python {platform.python_version()}",
        f"- command: `python -m bench.perf {' '.join(argv)}`".replace("  ", " "),
        f"- simulator: its own process, {sim_ms_per_request:.2f} ms CPU per request "
        f"(at most {1000 / sim_ms_per_request:,.0f} requests/s); `sim busy` is its CPU share of each run",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *("| " + " | ".join(_row(m)) + " |" for m in results),
        "",
        "## Targets",
        "",
        "| figure | target | measured | met |",
        "|---|---|---|---|",
        *(f"| {c.figure} | {c.target} | {c.measured} | {_met(c.met)} |" for c in checks),
        "",
    ]
    path.write_text("\n".join(lines) + _kept_sections(path))


def _kept_sections(path: Path) -> str:
    """The sections other benches write into the same file (``<!-- name:begin -->`` … ``:end -->``)."""
    if not path.exists():
        return ""
    blocks = re.finditer(r"<!-- (\w+):begin -->.*?<!-- \1:end -->", path.read_text(), flags=re.S)
    return "".join("\n" + block.group(0) + "\n" for block in blocks)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> None:
    """Runs every scenario and prints (and writes) the results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="messages per provider")
    parser.add_argument("--providers", nargs="+", default=list(PROVIDERS), choices=PROVIDERS)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--fan-out-size", type=int, default=20_000, help="messages per provider (~2,000 sessions)")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=("whole-process", "no-op", "audit", "1%", "fan-out", "rate-limited", "start-up"),
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="the Markdown file written")
    args = parser.parse_args(argv)
    results: list[Measured] = []
    sim_cpu, sim_requests = 0.0, 0
    with tempfile.TemporaryDirectory(prefix="chatsync-bench-") as scratch:
        for size in sorted(args.sizes):
            # the corpus size counts all four providers; each gets about a quarter
            with simulator_process(4 * size, bots=BOTS, seed=SEED, span_days=SPAN_DAYS) as sim:
                bench = Bench(sim, args.workers, Path(scratch))
                workdirs = full_loads(bench, args.providers, size)
                if "whole-process" not in args.skip and size >= 100_000:
                    whole_process_runs(bench, args.providers, size)
                if size == max(args.sizes):
                    full = {m.provider: m for m in bench.results if m.tool == "chatsync"}
                    if "no-op" not in args.skip:
                        no_op_runs(bench, workdirs)
                    if "audit" not in args.skip:
                        audit_runs(bench, workdirs)
                    if "1%" not in args.skip:
                        one_percent_runs(bench, workdirs, full)
                results += bench.results
                sim_requests, sim_cpu = bench.stats()
        if "fan-out" not in args.skip:
            with simulator_process(4 * args.fan_out_size, latency_ms=20, bots=BOTS, seed=SEED) as sim:
                bench = Bench(sim, args.workers, Path(scratch))
                fan_out_runs(bench, args.providers)
                results += bench.results
        if "rate-limited" not in args.skip and "owlbot" in args.providers:
            results += rate_limited_runs(Path(scratch), args.workers)
    startup = None if "start-up" in args.skip else startup_seconds()
    if startup is not None:
        print(f"start-up: chatsync --version in {startup:.3f} s (best of 5)")
    sim_ms = 1000 * sim_cpu / max(sim_requests, 1)
    checks = verdicts(results, startup)
    render(results, checks, sim_ms)
    write_results(results, checks, sim_ms, sys.argv[1:] if argv is None else argv, args.results)


if __name__ == "__main__":
    main()
