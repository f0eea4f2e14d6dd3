"""``chatsync simulate``: the provider simulator as a standalone server."""

from __future__ import annotations

import argparse

from simulator import Corpus, FaultSpec, Simulator, SimulatorSettings

from .console import stdout

EXIT_OK = 0


def serve(args: argparse.Namespace) -> int:
    """Serves until Ctrl-C, after printing how to point chatsync at it.

    Args:
        args: The parsed ``simulate`` options.

    Returns:
        The exit status.
    """
    settings = SimulatorSettings(latency_ms=args.latency_ms, feedloop_shape=args.feedloop_shape)
    sim = Simulator(
        Corpus(seed=args.seed, size=args.size, bots_per_provider=args.bots, span_days=args.span_days),
        settings=settings,
        faults=FaultSpec.parse(args.faults, seed=args.seed),
        host=args.host,
        port=args.port,
    )
    stdout.print(f"simulator on {sim.url}  (virtual clock {sim.corpus.now.isoformat()})")
    for provider, key in settings.api_keys.items():
        stdout.print(f"  {provider:<11} base_url={sim.base_url(provider)}  test key={key}")
    stdout.print(f"  admin: {sim.url}/_admin/clock, /_admin/advance, /_admin/truth, /_admin/requests")
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return EXIT_OK
