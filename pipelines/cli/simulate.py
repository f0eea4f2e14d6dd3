"""``chatsync simulate``: the provider simulator as a standalone server."""

from __future__ import annotations

import argparse
import errno
import json
import shlex
from datetime import datetime, timedelta
from pathlib import Path

from simulator import Corpus, FaultSpec, Simulator, SimulatorSettings
from simulator.corpus import DEFAULT_EPOCH
from sources.common.errors import ConfigurationError
from sources.common.provider import Discovery
from sources.common.timeutil import utc_stamp
from sources.registry import SPECS

from .console import stdout
from .simulated import simulator_environment

EXIT_OK = 0


def ready_to_paste(sim: Simulator) -> list[str]:
    """``export`` lines that point every provider at ``sim`` (with the ids it cannot list); for a provider
    that lists its bots itself, a comment names them, for Dagster's shards by bot."""
    lines = [f"export {key}={shlex.quote(value)}" for key, value in simulator_environment(sim).items()]
    for spec in SPECS.values():
        if spec.discovery is Discovery.LISTED_BOTS and spec.ids_setting:
            bots = shlex.quote(json.dumps([bot.bot_id for bot in sim.corpus.bots[spec.name]]))
            setting = f"SOURCES__{spec.name.upper()}__{spec.ids_setting.upper()}"
            lines.append(f"# to shard {spec.title} by bot under Dagster: export {setting}={bots}")
    return lines


# The virtual clock starts here whatever the length of the history, so a long history does not
# reach past the real date (its timestamps would be taken for a provider's clock error).
HISTORY_END = DEFAULT_EPOCH + timedelta(days=14)


def history_start(span_days: float) -> datetime:
    """The first moment of a history of ``span_days`` that ends at ``HISTORY_END``."""
    return HISTORY_END - timedelta(days=span_days)


def serve(args: argparse.Namespace) -> int:
    """Serves until Ctrl-C, after printing how to point chatsync at it.

    Args:
        args: The parsed ``simulate`` options.

    Returns:
        The exit status.

    Raises:
        ConfigurationError: ``--faults`` or ``--rate-limit`` cannot be read.
    """
    try:
        return _serve(args)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _corpus(args: argparse.Namespace) -> Corpus:
    return Corpus(
        seed=args.seed,
        size=args.size,
        bots_per_provider=args.bots,
        span_days=args.span_days,
        epoch=history_start(args.span_days),
        providers=tuple(SPECS),  # every registered provider
    )


def _write_truth(args: argparse.Namespace) -> int:
    """``--truth PATH``: what each conversation of this corpus was generated to be, for measuring insights."""
    from simulator.truth import write_truth

    count = write_truth(_corpus(args), Path(args.truth))
    stdout.print(f"truth of {count:,} conversations: {args.truth}", highlight=False)
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    if args.truth:
        return _write_truth(args)
    settings = SimulatorSettings(
        latency_ms=args.latency_ms,
        feedloop_shape=args.feedloop_shape,
        rate_limit=args.rate_limit or None,
        rate_limit_headers=args.rate_limit_headers,
    )
    try:
        sim = Simulator(
            _corpus(args),
            settings=settings,
            faults=FaultSpec.parse(args.faults, seed=args.seed),
            host=args.host,
            port=args.port,
        )
    except OSError as exc:  # before anything is printed: one line and exit 2, never a traceback
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"port {args.port} on {args.host} is in use (another chatsync simulate or explore?): "
                "choose another with --port, or --port 0 for a free one"
            ) from None
        raise ConfigurationError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    stdout.print(f"# simulator on {sim.url}  (virtual clock {utc_stamp(sim.corpus.now)})", highlight=False)
    stdout.print("# paste into the shell that runs chatsync (base URLs, test keys, bot and conversation ids):")
    for line in ready_to_paste(sim):
        stdout.print(line, highlight=False, soft_wrap=True, markup=False)
    stdout.print(
        f"# admin: {sim.url}/_admin/clock, POST /_admin/advance?days=1, /_admin/truth?provider=owlbot, "
        "/_admin/requests, POST /_admin/faults, POST /_admin/tamper",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return EXIT_OK
