"""Each simulated API answers as its vendor documents, errors included."""

from __future__ import annotations

import requests

from simulator import Simulator, SimulatorSettings

EXAMPLE_KEY = {"Authorization": "Bearer sk_test_example_ai"}


def _history(sim: Simulator, **params: object) -> requests.Response:
    return requests.get(sim.base_url("example_ai") + "/chat/history", params=params, headers=EXAMPLE_KEY, timeout=5)


def test_example_ai_envelope_defaults_and_order(sim: Simulator) -> None:
    conversation_id = max(
        sim.corpus.conversation_ids("example_ai"),
        key=lambda c: len(sim.corpus.visible_messages(sim.corpus.find("example_ai", c))),
    )
    body = _history(sim, conversation_id=conversation_id).json()
    assert body["status"] == "success" and body["message"] == "Chat history retrieved successfully."
    messages = body["data"]["messages"]
    assert body["data"]["conversation_id"] == conversation_id
    assert len(messages) == min(20, len(sim.corpus.visible_messages(sim.corpus.find("example_ai", conversation_id))))
    stamps = [m["created_at"] for m in messages]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    assert all(len(s) == 20 and s.endswith("Z") for s in stamps), "whole-second UTC"
    assert set(messages[0]) == {"id", "sender_type", "sender_id", "text", "created_at"}
    assert {m["sender_type"] for m in messages} <= {"user", "ai", "system"}
    assert body["pagination"]["limit"] == 20
    assert body["pagination"]["next_cursor"] == stamps[-1]


def test_example_ai_strict_before_and_after(sim: Simulator) -> None:
    conversation_id = sim.corpus.conversation_ids("example_ai")[0]
    everything = _history(sim, conversation_id=conversation_id, limit=100).json()["data"]["messages"]
    pivot = everything[len(everything) // 2]["created_at"]
    older = _history(sim, conversation_id=conversation_id, limit=100, before=pivot).json()["data"]["messages"]
    newer = _history(sim, conversation_id=conversation_id, limit=100, after=pivot).json()["data"]["messages"]
    assert all(m["created_at"] < pivot for m in older)
    assert all(m["created_at"] > pivot for m in newer)
    assert [m["created_at"] for m in newer] == sorted(m["created_at"] for m in newer), "after: oldest first"
    assert len(older) + len(newer) + sum(m["created_at"] == pivot for m in everything) == len(everything)


def test_example_ai_include_meta(sim: Simulator) -> None:
    conversation_id = sim.corpus.conversation_ids("example_ai")[0]
    messages = _history(sim, conversation_id=conversation_id, include_meta="true").json()["data"]["messages"]
    assert all("metadata" in m for m in messages)


def test_example_ai_documented_errors(sim: Simulator) -> None:
    conversation_id = sim.corpus.conversation_ids("example_ai")[0]
    both = _history(sim, conversation_id=conversation_id, before="2026-03-02T00:00:00Z", after="2026-03-01T00:00:00Z")
    assert both.status_code == 400
    assert both.json() == {
        "status": "error",
        "message": "Invalid query parameter: before and after cannot both be set.",
        "data": None,
    }
    missing = _history(sim, conversation_id="con_nope")
    assert missing.status_code == 404
    assert missing.json() == {"status": "error", "message": "Conversation not found: con_nope.", "data": None}
    assert _history(sim, conversation_id=conversation_id, limit=101).status_code == 400
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "sk_test_example_ai"}):
        denied = requests.get(
            sim.base_url("example_ai") + "/chat/history",
            params={"conversation_id": conversation_id},
            headers=headers,
            timeout=5,
        )
        assert denied.status_code == 401
        assert denied.json() == {"status": "error", "message": "Missing or invalid Authorization header.", "data": None}


def test_owlbot_contract(sim: Simulator) -> None:
    base = sim.base_url("owlbot")
    assert requests.post(base + "/login/checkToken", timeout=5).json() == {"message": "No token"}
    wrong = requests.post(base + "/login/checkToken", headers={"Authorization": "Bearer owl_test_key"}, timeout=5)
    assert wrong.status_code == 400 and wrong.json() == {"message": "No verify"}
    key = {"Authorization": "owl_test_key"}
    bots = requests.post(base + "/login/checkToken", headers=key, timeout=5).json()["chatbot"]
    assert {b["uuid"] for b in bots} == {b.bot_id for b in sim.corpus.bots["owlbot"]}
    sessions = requests.get(f"{base}/chatbot/{bots[0]['uuid']}/conversation", headers=key, timeout=5).json()
    assert sessions and set(sessions[0]) == {
        "id",
        "created_at",
        "user_agent",
        "uuid",
        "visibility",
        "ip",
        "geo",
        "chatbot_uuid",
        "session_uuid",
        "messagenbr",
    }
    session = sessions[0]
    assert session["created_at"].endswith("+00:00") and len(session["created_at"].split(".")[1]) == 12
    body = requests.get(f"{base}/chatbot/{bots[0]['uuid']}/{session['session_uuid']}", headers=key, timeout=5).json()
    assert set(body) == {"messageArr", "botPreferences"}
    assert session["messagenbr"] == sum(m["user"] == "user" for m in body["messageArr"])
    ids = [m["id"] for m in body["messageArr"]]
    assert ids == sorted(ids)


def test_chatnode_contract() -> None:
    settings = SimulatorSettings(chatnode_forbidden_bots=frozenset())
    with Simulator(settings=settings) as sim:
        base, key = sim.base_url("chatnode"), {"Authorization": "Bearer cn_test_key"}
        bot = sim.corpus.bots["chatnode"][0].bot_id
        assert requests.post(f"{base}/get-conversation-ids/{bot}", timeout=5).json() == {
            "message": "Bearer token missing or unknown"
        }
        leads = requests.post(f"{base}/get-conversation-ids/{bot}", headers=key, timeout=5).json()
        assert leads and {"session_id", "created_at"} <= set(leads[0])
        ids = [lead["session_id"] for lead in leads[:3]]
        chats = requests.post(f"{base}/get-chats/{bot}?k=1", json=ids, headers=key, timeout=5).json()
        assert {c["session_id"] for c in chats} == set(ids), "k is ignored when ids are given"
        assert {c["message"]["type"] for c in chats} <= {"ai", "human"}
        recent = requests.post(f"{base}/get-chats/{bot}?k=1", json=[], headers=key, timeout=5).json()
        assert len({c["session_id"] for c in recent}) == 1
        too_many = requests.post(f"{base}/get-chats/{bot}", json=[f"s{i}" for i in range(101)], headers=key, timeout=5)
        assert too_many.status_code == 422 and isinstance(too_many.json()["detail"], list)
    forbidden = SimulatorSettings(chatnode_forbidden_bots=frozenset({bot}), chatnode_error_style="detail")
    with Simulator(settings=forbidden) as sim:
        denied = requests.post(f"{sim.base_url('chatnode')}/get-chats/{bot}", json=[], headers=key, timeout=5)
        assert denied.status_code == 403 and denied.json() == {"detail": "Bot access not allowed"}


def test_feedloop_token_and_every_shape() -> None:
    expected_keys = {
        "reply": {"type", "role", "payload"},
        "role_content": {"id", "role", "content", "created_at"},
        "sender_message": {"sender", "message", "timestamp"},
    }
    for shape, keys in expected_keys.items():
        with Simulator(settings=SimulatorSettings(feedloop_shape=shape)) as sim:
            convo = sim.corpus.conversation_ids("feedloop")[0]
            url = f"{sim.base_url('feedloop')}/widget/{convo}/chats"
            assert requests.get(url, timeout=5).status_code == 401
            body = requests.get(url, headers={"Token": "fl_test_token"}, timeout=5).json()
            assert body["status"] == "success"
            assert all(set(item) == keys for item in body["data"])
    with Simulator(settings=SimulatorSettings(feedloop_shape="mixed")) as sim:
        seen = set()
        for convo in sim.corpus.conversation_ids("feedloop"):
            url = f"{sim.base_url('feedloop')}/widget/{convo}/chats"
            items = requests.get(url, headers={"Token": "fl_test_token"}, timeout=5).json()["data"]
            seen |= {frozenset(item) for item in items}
        assert len(seen) == 4, "three known shapes and an unrecognisable one"


def test_admin_api_clock_truth_and_request_log(sim: Simulator) -> None:
    before = requests.get(sim.url + "/_admin/clock", timeout=5).json()["now"]
    after = requests.post(sim.url + "/_admin/advance", json={"seconds": 3600}, timeout=5).json()["now"]
    assert after > before
    truth = requests.get(sim.url + "/_admin/truth", params={"provider": "example_ai"}, timeout=5).json()
    assert len(truth["messages"]) == len(sim.truth("example_ai").messages)
    _history(sim, conversation_id="con_x")
    log = requests.get(sim.url + "/_admin/requests", timeout=5).json()
    assert log[-1]["provider"] == "example_ai" and log[-1]["status"] == 404


def test_admin_rejects_unknown_parameters_and_advances_by_days() -> None:
    import requests

    from simulator import Corpus, Simulator

    with Simulator(Corpus(seed=3, size=200)) as sim:
        before = sim.corpus.now
        wrong = requests.post(f"{sim.url}/_admin/advance?day=1")
        assert wrong.status_code == 400 and "unknown parameter(s) ['day']" in wrong.json()["message"]
        assert sim.corpus.now == before, "a rejected call changes nothing"
        assert requests.post(f"{sim.url}/_admin/advance?days=1").status_code == 200
        assert (sim.corpus.now - before).total_seconds() == 86_400


def test_simulate_prints_a_ready_to_paste_configuration() -> None:
    from pipelines.cli.simulate import ready_to_paste
    from simulator import Corpus, Simulator

    with Simulator(Corpus(seed=3, size=200)) as sim:
        lines = ready_to_paste(sim)
        assert f"export SOURCES__OWLBOT__BASE_URL={sim.base_url('owlbot')}" in lines
        ids = sim.corpus.conversation_ids("example_ai")
        prefix = "export SOURCES__EXAMPLE_AI__CONVERSATION_IDS="
        assert any(line.startswith(prefix) and ids[0] in line for line in lines)
        bots = [b.bot_id for b in sim.corpus.bots["chatnode"]]
        assert any(line.startswith("export SOURCES__CHATNODE__BOT_IDS=") and bots[0] in line for line in lines)
