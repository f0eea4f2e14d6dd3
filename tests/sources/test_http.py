"""The shared HTTP layer: the environment read once, bodies parsed faithfully."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import Corpus, Simulator
from sources.common.http import _has_long_digit_run, environment_settings
from sources.owlbot.helpers import connect, discover_bots

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_without_a_proxy_sessions_skip_the_environment_but_keep_its_ca_bundle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _no_proxy(monkeypatch)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bundle.pem")
    assert environment_settings() == (False, "/etc/ssl/bundle.pem")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert environment_settings() == (False, None)


def test_with_a_proxy_sessions_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_proxy(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert environment_settings() == (True, None)


def test_sessions_made_without_a_proxy_still_reach_the_simulator(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy(monkeypatch)
    http = connect(sim.settings.api_keys["owlbot"], sim.base_url("owlbot"))
    assert discover_bots(http) == [bot.bot_id for bot in sim.corpus.bots["owlbot"]]
    assert http._rest.session.trust_env is False


def test_twenty_digit_runs_are_left_to_the_exact_parser() -> None:
    assert _has_long_digit_run(b'{"id": 123456789012345678901}')
    assert not _has_long_digit_run(b'{"id": 9223372036854775807, "at": "2026-03-01T00:33:47.324000+00:00"}')


def test_the_pool_key_of_a_host_is_built_once_and_equals_requests_own(tmp_path: Path) -> None:
    import requests
    from requests.adapters import HTTPAdapter

    from sources.common.http import PoolKeyCachingAdapter

    bundle = tmp_path / "bundle.pem"
    bundle.write_text("")
    adapter = PoolKeyCachingAdapter()
    with Simulator(Corpus(seed=3, size=50)) as sim:
        session = requests.Session()
        session.mount("http://", adapter)
        url = sim.base_url("owlbot") + "/login/checkToken"
        statuses = [session.post(url, headers={"Authorization": "k"}, verify=str(bundle)).status_code for _ in range(5)]
        request = requests.Request("POST", url).prepare()
        cached = adapter.build_connection_pool_key_attributes(request, str(bundle))
        assert cached == HTTPAdapter().build_connection_pool_key_attributes(request, str(bundle))
    assert statuses == [400] * 5, "answered (and refused for the wrong key) through the cached pool"
    assert len(adapter._keys) == 1, "one host, one bundle: one key, built once"
    chatsync_session = connect("k", "http://127.0.0.1:9/owlbot/api")._retrying.session
    assert isinstance(chatsync_session.get_adapter("https://x.example"), PoolKeyCachingAdapter), "and chatsync uses it"
    cached[1]["ca_certs"] = "changed"
    assert adapter.build_connection_pool_key_attributes(request, str(bundle))[1]["ca_certs"] == str(bundle)
