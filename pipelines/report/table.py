"""One summary table of the report, shown in the terminal and in the HTML report alike."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """One summary table, shown in the terminal and in the HTML report alike."""

    title: str
    header: list[str]
    rows: list[list[str]]
    text_columns: int = 1  # leading columns that are text, not numbers
    meanings: dict[str, str] = field(default_factory=dict)  # column → what it means, shown in HTML
    links: dict[int, str] = field(default_factory=dict)  # row → the explorer page of its first cell (HTML)


def share(value: float | None) -> str:
    """A rate as a percentage, or a dash when unknown."""
    return "—" if value is None else f"{value:.1%}"
