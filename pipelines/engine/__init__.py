"""The run engine: targets and exit codes, the pipeline factory, locks, recovery, the runner. No terminal output."""
