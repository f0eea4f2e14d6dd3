"""The explorer's route table: each page at its path and, for its data, at the same path with ``.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .views import conversations, export, gaps, overview, topic, topics, transcript

STATIC: Final = Path(__file__).parent / "static"

ROUTES: Final[list[BaseRoute]] = [
    Route("/", overview.page),
    Route("/index.json", overview.page),
    Route("/conversations", conversations.page),
    Route("/conversations.json", conversations.page),
    Route("/conversations.csv", export.page),
    Route("/conversations/{provider}/{conversation_id:path}", transcript.page),  # ``….json``: its twin
    Route("/topics", topics.page),
    Route("/topics.json", topics.page),
    Route("/topics/{topic_id}.json", topic.page),
    Route("/topics/{topic_id}", topic.page),
    Route("/gaps", gaps.page),
    Route("/gaps.json", gaps.page),
    Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
]
