"""harbor_registry through its real HTTP path against the Harbor stand-in (Harbor's API spec)."""

import json

DOCKER_HUB = {
    "name": "docker-hub",
    "type": "docker-hub",
    "endpoint_url": "https://hub.docker.com",
    "description": "Docker Hub",
    "access_key": "homelab",
    "access_secret": "Token-Only-Harbor-Knows-1",
}


def test_create_then_nothing_to_do(harbor, run_module):
    created = run_module("harbor_registry", **DOCKER_HUB)
    assert created["changed"] is True
    assert [(r[0], r[1]) for r in harbor.writes] == [("POST", "/api/v2.0/registries")]
    stored = harbor.state.registries[1]
    assert stored["url"] == "https://hub.docker.com" and stored["type"] == "docker-hub"
    assert stored["credential"] == {
        "type": "basic",
        "access_key": "homelab",
        "access_secret": DOCKER_HUB["access_secret"],
    }
    assert created["registry"]["id"] == 1
    assert created["registry"]["credential"] == {"type": "basic", "access_key": "homelab"}
    assert created["diff"]["before"] == {}

    harbor.reset_log()
    again = run_module("harbor_registry", **DOCKER_HUB)
    assert again["changed"] is False and again["changes"] == {}
    assert harbor.writes == []
    assert [r[0] for r in harbor.requests] == ["GET"]


def test_the_secret_never_reaches_the_result(harbor, run_module):
    for result in (run_module("harbor_registry", **DOCKER_HUB), run_module("harbor_registry", **DOCKER_HUB)):
        assert DOCKER_HUB["access_secret"] not in result["raw"]


def test_a_changed_url_is_updated_in_place(harbor, run_module):
    run_module("harbor_registry", **DOCKER_HUB)
    harbor.reset_log()
    moved = run_module("harbor_registry", **dict(DOCKER_HUB, endpoint_url="https://registry-1.docker.io"))
    assert moved["changed"] is True and moved["changes"] == {"url": "https://registry-1.docker.io"}
    assert [(r[0], r[1]) for r in harbor.writes] == [("PUT", "/api/v2.0/registries/1")]
    assert harbor.bodies[-1] == {"url": "https://registry-1.docker.io"}
    assert harbor.state.registries[1]["url"] == "https://registry-1.docker.io"
    assert moved["diff"]["before"]["url"] == "https://hub.docker.com"
    assert moved["diff"]["after"]["url"] == "https://registry-1.docker.io"


def test_the_secret_is_sent_again_only_when_asked(harbor, run_module):
    run_module("harbor_registry", **DOCKER_HUB)
    rolled = dict(DOCKER_HUB, access_secret="A-New-Token-2")
    harbor.reset_log()
    assert run_module("harbor_registry", **rolled)["changed"] is False  # on_create: not comparable, not sent
    assert harbor.writes == []
    result = run_module("harbor_registry", update_secret="always", **rolled)
    assert result["changed"] is True and result["changes"] == {"access_secret": True}
    assert harbor.state.registries[1]["credential"]["access_secret"] == "A-New-Token-2"
    assert "A-New-Token-2" not in result["raw"]


def test_check_mode_writes_nothing(harbor, run_module):
    planned = run_module("harbor_registry", check_mode=True, **DOCKER_HUB)
    assert planned["changed"] is True and harbor.writes == [] and harbor.state.registries == {}
    run_module("harbor_registry", **DOCKER_HUB)
    harbor.reset_log()
    planned = run_module("harbor_registry", check_mode=True, **dict(DOCKER_HUB, description="other"))
    assert planned["changes"] == {"description": "other"} and harbor.writes == []
    planned = run_module("harbor_registry", check_mode=True, name="docker-hub", state="absent")
    assert planned["changed"] is True and harbor.writes == [] and 1 in harbor.state.registries


def test_delete_and_its_refusal_while_a_proxy_cache_uses_it(harbor, run_module):
    created = run_module("harbor_registry", **DOCKER_HUB)
    run_module("harbor_project", name="dockerhub-proxy", registry_id=created["registry"]["id"])
    refused = run_module("harbor_registry", name="docker-hub", state="absent")
    assert refused["failed"] and refused["status"] == 412 and "HTTP 412" in refused["msg"]
    run_module("harbor_project", name="dockerhub-proxy", state="absent")
    deleted = run_module("harbor_registry", name="docker-hub", state="absent")
    assert deleted["changed"] is True and harbor.state.registries == {}
    assert run_module("harbor_registry", name="docker-hub", state="absent")["changed"] is False


def test_the_name_is_matched_exactly(harbor, run_module):
    run_module("harbor_registry", **dict(DOCKER_HUB, name="docker-hub-mirror"))
    result = run_module("harbor_registry", **DOCKER_HUB)
    assert result["changed"] is True and len(harbor.state.registries) == 2


def test_the_type_cannot_change(harbor, run_module):
    run_module("harbor_registry", **DOCKER_HUB)
    harbor.reset_log()
    result = run_module("harbor_registry", **dict(DOCKER_HUB, type="quay"))
    assert result["failed"] and "cannot change it to quay" in result["msg"] and harbor.writes == []


def test_bad_input_fails_before_any_request(harbor, run_module):
    result = run_module("harbor_registry", **dict(DOCKER_HUB, endpoint_url="hub.docker.com"))
    assert result["failed"] and "endpoint_url must be an http(s) address" in result["msg"]
    missing = run_module("harbor_registry", name="new-one", endpoint_url="https://quay.io")
    assert missing["failed"] and "creating it needs type" in missing["msg"]
    assert harbor.writes == []
    assert json.dumps(missing).count("Harbor12345") == 0
