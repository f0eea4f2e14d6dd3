"""Every conversation has a start: the provider's, else its first message's time (Feedloop sends none)."""

from __future__ import annotations

import duckdb

from sources.registry import SPECS
from tests.worlds import Loaded

_STARTS = """
SELECT c.provider, COUNT(*) AS conversations, COUNT(c.started_at) AS with_start,
       SUM(CASE WHEN c.started_at = f.first THEN 1 ELSE 0 END) AS at_first_message_or_provider
FROM chat_history.conversations AS c
JOIN (SELECT provider, conversation_id, MIN(created_at) AS first FROM chat_history.messages
      GROUP BY provider, conversation_id) AS f USING (provider, conversation_id)
GROUP BY c.provider ORDER BY c.provider
"""


def test_every_loaded_conversation_has_a_start_and_feedloops_is_its_first_message(demo: Loaded) -> None:
    rows = {provider: (n, started, first) for provider, n, started, first in demo.rows(_STARTS)}
    assert set(rows) == set(SPECS), "every registered provider is in the demo world"
    for provider, (conversations, with_start, _) in rows.items():
        assert with_start == conversations > 0, provider
    conversations, _, at_first = rows["feedloop"]
    assert at_first == conversations  # no start from Feedloop: the first message's time, exactly


def test_a_warehouse_loaded_without_starts_gets_them_on_its_next_run(demo_copy: Loaded) -> None:
    wiped = "UPDATE chat_history.conversations SET started_at = NULL WHERE provider IN ('feedloop', 'chatnode')"
    with duckdb.connect(str(demo_copy.warehouse)) as db:
        db.execute(wiped)
        expected = db.execute("SELECT COUNT(*) FROM chat_history.conversations WHERE started_at IS NULL").fetchone()
    assert expected is not None and expected[0] > 100
    assert demo_copy.chatsync("run") == 0  # nothing new at the provider: no reload, the starts are filled in
    rows = {provider: (n, started, first) for provider, n, started, first in demo_copy.rows(_STARTS)}
    assert rows["feedloop"][0] == rows["feedloop"][1] == rows["feedloop"][2]
    assert rows["chatnode"][0] == rows["chatnode"][1]
