"""The hand-written baseline: what a good engineer writes in an afternoon, with no dlt.

    .venv/bin/python -m bench.handwritten --provider owlbot --url URL --key KEY --db out.duckdb

Plain ``requests`` with one Session per thread, a ``ThreadPoolExecutor``, the same endpoints and
the same canonical rows as chatsync, inserted into DuckDB once through Arrow. A full load only:
no state, no retries, no checks. Deliberately not slowed down, so chatsync is measured against
the best a user could reasonably write. Prints one JSON line of figures (see ``bench.perf``).
"""

from __future__ import annotations

import argparse
import json
import resource
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import requests

Rows = list[dict[str, Any]]
_local = threading.local()


def _session(headers: dict[str, str]) -> requests.Session:
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.headers.update(headers)
    return session


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _message(
    provider: str,
    bot: str | None,
    conversation: str,
    message_id: str,
    role: str,
    content: Any,
    created_at: datetime | None,
    sender: Any,
    raw: dict[str, Any],
    sequence: int | None = None,
) -> dict[str, Any]:
    return {
        "provider": provider,
        "bot_id": bot,
        "conversation_id": conversation,
        "message_id": message_id,
        "role": role,
        "content": content,
        "created_at": created_at,
        "sender_id": sender,
        "sequence": sequence,
        "raw": json.dumps(raw),
    }


def _conversation(
    provider: str,
    bot: str | None,
    conversation: str,
    started: datetime | None,
    user: Any,
    count: int | None,
    raw: dict[str, Any],
) -> dict[str, Any]:
    return {
        "provider": provider,
        "bot_id": bot,
        "conversation_id": conversation,
        "started_at": started,
        "user_id": user,
        "reported_message_count": count,
        "raw": json.dumps(raw),
    }


class Client:
    """One provider's base URL and headers, with a fan-out helper."""

    def __init__(self, url: str, headers: dict[str, str], workers: int) -> None:
        self.url, self.headers, self.workers = url, headers, workers

    def get(self, path: str, **params: Any) -> Any:
        response = _session(self.headers).get(self.url + path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Any = None) -> Any:
        response = _session(self.headers).post(self.url + path, json=body)
        response.raise_for_status()
        return response.json()

    def fan_out(self, work: Callable[[Any], tuple[Rows, Rows]], items: Iterable[Any]) -> tuple[Rows, Rows]:
        messages: Rows = []
        conversations: Rows = []
        with ThreadPoolExecutor(self.workers) as pool:
            for found_messages, found_conversations in pool.map(work, items):
                messages += found_messages
                conversations += found_conversations
        return messages, conversations


def example_ai(client: Client, ids: list[str]) -> tuple[Rows, Rows]:
    """Each conversation newest first, 100 per page; the cursor moved a second on, ids de-duplicated."""
    roles = {"user": "user", "ai": "assistant", "system": "system"}

    def one(conversation: str) -> tuple[Rows, Rows]:
        seen: dict[str, dict[str, Any]] = {}
        params: dict[str, Any] = {"conversation_id": conversation, "limit": 100}
        while True:
            body = client.get("/chat/history", **params)
            for record in body["data"]["messages"]:
                seen.setdefault(record["id"], record)
            if not body["pagination"]["has_more"]:
                break
            # ``before`` is exclusive: re-read the cursor's second so a split second is not lost
            cursor = _ts(body["pagination"]["next_cursor"]) + timedelta(seconds=1)
            params["before"] = cursor.strftime("%Y-%m-%dT%H:%M:%SZ")
        rows = [
            _message(
                "example_ai",
                "default",
                conversation,
                r["id"],
                roles.get(r["sender_type"], "unknown"),
                r["text"],
                _ts(r["created_at"]),
                r.get("sender_id"),
                r,
            )
            for r in seen.values()
        ]
        started = min((row["created_at"] for row in rows), default=None)
        users = [row["sender_id"] for row in sorted(rows, key=lambda row: row["created_at"]) if row["role"] == "user"]
        head = _conversation(
            "example_ai",
            "default",
            conversation,
            started,
            users[0] if users else None,
            None,
            {"conversation_id": conversation},
        )
        return rows, [head]

    return client.fan_out(one, ids)


def owlbot(client: Client, _: list[str]) -> tuple[Rows, Rows]:
    """Every bot, every session listed, then each session's messages."""
    roles = {"user": "user", "assistant": "assistant", "agent": "agent", "system": "system"}
    bots = [bot["uuid"] for bot in client.post("/login/checkToken")["chatbot"]]
    sessions = [(bot, s) for bot in bots for s in client.get(f"/chatbot/{bot}/conversation")]

    def one(item: tuple[str, dict[str, Any]]) -> tuple[Rows, Rows]:
        bot, session = item
        records = client.get(f"/chatbot/{bot}/{session['session_uuid']}")["messageArr"]
        rows = [
            _message(
                "owlbot",
                bot,
                session["session_uuid"],
                str(r["id"]),
                roles.get(r["user"], "unknown"),
                r["content"],
                _ts(r["created_at"]),
                None,
                r,
                r["id"],
            )
            for r in records
        ]
        started = _ts(session["created_at"]) if session.get("created_at") else None
        head = _conversation(
            "owlbot", bot, session["session_uuid"], started, session.get("uuid"), session["messagenbr"], session
        )
        return rows, [head]

    return client.fan_out(one, sessions)


def chatnode(client: Client, bots: list[str]) -> tuple[Rows, Rows]:
    """Every bot's leads, then their chats 50 session ids per request."""
    batches = []
    for bot in bots:
        leads = client.post(f"/get-conversation-ids/{bot}")
        batches += [(bot, leads[i : i + 50]) for i in range(0, len(leads), 50)]

    def one(batch: tuple[str, list[dict[str, Any]]]) -> tuple[Rows, Rows]:
        bot, leads = batch
        chats = client.post(f"/get-chats/{bot}", [lead["session_id"] for lead in leads])
        rows = [
            _message(
                "chatnode",
                bot,
                c["session_id"],
                c["id"],
                "user" if c["message"]["type"] == "human" else "assistant",
                c["message"]["data"]["content"],
                _ts(c["created_at"]),
                None,
                c,
            )
            for c in chats
        ]
        heads = [
            _conversation("chatnode", bot, lead["session_id"], _ts(lead["created_at"]), None, None, lead)
            for lead in leads
        ]
        return rows, heads

    return client.fan_out(one, batches)


def feedloop(client: Client, ids: list[str]) -> tuple[Rows, Rows]:
    """One GET per conversation; items in the ``role``/``content`` shape."""
    roles = {"user": "user", "assistant": "assistant", "agent": "agent", "system": "system"}

    def one(conversation: str) -> tuple[Rows, Rows]:
        items = client.get(f"/widget/{conversation}/chats")["data"]
        rows = [
            _message(
                "feedloop",
                None,
                conversation,
                item["id"],
                roles.get(item["role"], "unknown"),
                item["content"],
                _ts(item["created_at"]),
                None,
                item,
                position,
            )
            for position, item in enumerate(items)
        ]
        started = min((row["created_at"] for row in rows), default=None)
        return rows, [_conversation("feedloop", None, conversation, started, None, None, {"id": conversation})]

    return client.fan_out(one, ids)


PROVIDERS: dict[str, tuple[Callable[[Client, list[str]], tuple[Rows, Rows]], Callable[[str], dict[str, str]]]] = {
    "example_ai": (example_ai, lambda key: {"Authorization": f"Bearer {key}"}),
    "owlbot": (owlbot, lambda key: {"Authorization": key}),
    "chatnode": (chatnode, lambda key: {"Authorization": f"Bearer {key}"}),
    "feedloop": (feedloop, lambda key: {"Token": key}),
}


def insert(db: str, messages: Rows, conversations: Rows) -> None:
    """Both tables in one DuckDB insert each, from Arrow."""
    connection = duckdb.connect(db)
    for name, rows in (("messages", messages), ("conversations", conversations)):
        arrow_rows = pa.Table.from_pylist(rows)  # noqa: F841  (read by DuckDB's replacement scan)
        connection.execute(f"create table if not exists {name} as select * from arrow_rows limit 0")
        connection.execute(f"insert into {name} select * from arrow_rows")
    connection.close()


def replay(url: str, headers: dict[str, str], requests_file: str, workers: int) -> int:
    """Issues recorded requests bare (8 threads, bodies parsed), for the no-op baseline."""
    recorded = json.loads(Path(requests_file).read_text())
    client = Client(url, headers, workers)

    def one(record: dict[str, Any]) -> tuple[Rows, Rows]:
        if record["method"] == "POST":
            client.post(record["path"], record["body"])
        else:
            client.get(record["path"], **record["query"])
        return [], []

    client.fan_out(one, recorded)
    return len(recorded)


def main() -> None:
    """Runs one full load (or a replay) and prints its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--provider", required=True, choices=sorted(PROVIDERS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ids-file", help="a JSON list: conversation ids, or ChatNode bot ids")
    parser.add_argument("--db", help="the DuckDB file a load writes")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--replay", help="a JSON file of recorded requests to issue instead of a load")
    args = parser.parse_args()
    read, headers = PROVIDERS[args.provider]
    started, cpu = time.perf_counter(), time.process_time()
    if args.replay:
        sent = replay(args.url, headers(args.key), args.replay, args.workers)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        print(
            json.dumps(
                {
                    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    "seconds": seconds,
                    "cpu_seconds": cpu_seconds,
                    "extract_cpu_seconds": cpu_seconds,
                    "messages": 0,
                    "requests": sent,
                }
            )
        )
        return
    messages, conversations = read(
        Client(args.url, headers(args.key), args.workers),
        json.loads(Path(args.ids_file).read_text()) if args.ids_file else [],
    )
    extract_cpu = time.process_time() - cpu
    insert(args.db, messages, conversations)
    print(
        json.dumps(
            {
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "seconds": time.perf_counter() - started,
                "cpu_seconds": time.process_time() - cpu,
                "extract_cpu_seconds": extract_cpu,
                "messages": len(messages),
            }
        )
    )


if __name__ == "__main__":
    main()
