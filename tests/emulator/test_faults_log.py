"""Fault injection, the request log, stats and reset."""

from __future__ import annotations

import hashlib
import threading
import time

import orjson
import pytest
import requests

from .conftest import TrackClient, person


def status_sequence(workspace, count: int) -> list[str]:
    """Send ``count`` one-op batches, each on a fresh connection; the statuses, ``"drop"`` for drops."""
    statuses = []
    for i in range(count):
        client = TrackClient(workspace)
        try:
            statuses.append(str(client.batch(person({"id": str(i)})).status_code))
        except requests.ConnectionError:
            statuses.append("drop")
        finally:
            client.close()
    return statuses


def test_a_seed_gives_a_reproducible_sequence_of_faults(workspace):
    faults = {"seed": 11, "rate_429": 0.2, "rate_500": 0.15, "rate_503": 0.15, "rate_drop": 0.15}
    workspace.faults(**faults)
    first = status_sequence(workspace, 40)
    workspace.reset()
    workspace.faults(**faults)
    second = status_sequence(workspace, 40)
    assert first == second
    assert {"200", "429", "500", "503", "drop"} <= set(first)
    logged = ["drop" if e["status"] is None else str(e["status"]) for e in workspace.requests_log()]
    assert logged == second
    workspace.faults(**{**faults, "seed": 12})
    assert status_sequence(workspace, 40) != first


def test_429_carries_retry_after_and_applies_nothing(workspace, track):
    workspace.faults(rate_429=1.0, retry_after=7)
    response = track.batch(person({"id": "1"}))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {"meta": {"error": "rate limited"}}
    assert workspace.people() == []
    [entry] = workspace.requests_log()
    assert (entry["status"], entry["retry_after"], entry["fault"]) == (429, 7, "429")


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_faults_apply_nothing(workspace, track, status):
    workspace.faults(**{f"rate_{status}": 1.0})
    response = track.batch(person({"id": "1"}))
    assert response.status_code == status
    assert set(response.json()["meta"]) == {"error"}
    assert workspace.people() == []
    assert workspace.requests_log()[0]["fault"] == str(status)


def test_dropped_connection_before_applying(workspace, track):
    workspace.faults(rate_drop=1.0, drop_after_apply=0.0)
    with pytest.raises(requests.ConnectionError):
        track.batch(person({"id": "1"}))
    assert workspace.people() == []
    [entry] = workspace.requests_log()
    assert (entry["status"], entry["fault"], entry["ops"]) == (None, "drop", 1)


def test_dropped_connection_after_applying(workspace, track):
    workspace.faults(rate_drop=1.0, drop_after_apply=1.0)
    with pytest.raises(requests.ConnectionError):
        track.batch(person({"id": "1"}))
    assert workspace.person(id="1") is not None
    stats = workspace.stats()["POST /api/v2/batch"]
    assert stats == {"requests": {"drop": 1}, "ops": {"accepted": 1, "failed": 0}}


def test_latency_is_added(workspace, track):
    workspace.faults(latency_ms=200)
    started = time.monotonic()
    assert track.batch(person({"id": "1"})).status_code == 200
    assert time.monotonic() - started >= 0.2
    assert workspace.requests_log()[0]["fault"] == "latency"
    # latency_rate 0: none of the 30 s is added (a round trip on a loaded machine takes far less than that)
    workspace.faults(latency_ms=30_000, latency_rate=0.0)
    started = time.monotonic()
    track.batch(person({"id": "2"}))
    assert time.monotonic() - started < 15
    assert workspace.requests_log()[1]["fault"] is None


def test_faults_spare_admin_and_app_api_and_unauthorised_calls(workspace, track):
    workspace.faults(rate_500=1.0)
    assert workspace.people() == []
    assert track.app("GET", "/v1/segments").status_code == 200
    assert requests.get(f"{workspace.url}/api/v1/accounts/region", auth=("x", "y"), timeout=10).status_code == 401
    assert track.get("/api/v1/accounts/region").status_code == 500
    workspace.faults()
    assert track.get("/api/v1/accounts/region").status_code == 200


@pytest.mark.parametrize(
    "faults",
    [{"rate_429": 1.5}, {"rate_429": 0.6, "rate_500": 0.6}, {"seed": "x"}, {"latency_ms": -1}, {"nope": 1}],
)
def test_bad_fault_settings_are_refused(workspace, faults):
    with pytest.raises(ValueError, match="400"):
        workspace.faults(**faults)


def test_request_log_entries(workspace, track):
    body = orjson.dumps({"batch": [person({"id": "1"}), person({"id": "2"}, {"email": "bad"})]})
    before = time.monotonic()
    track.post("/api/v2/batch", data=body, headers={"Content-Type": "application/json"})
    track.post("/api/v2/batch", data=body, headers={"Content-Type": "application/json"})
    track.get("/api/v1/accounts/region")
    track.app("GET", "/v1/segments")
    track.post("/api/v2/batch", data=b"nope")
    workspace.people()  # admin calls are not logged
    log = workspace.requests_log()
    assert [e["seq"] for e in log] == [1, 2, 3, 4, 5]
    assert [(e["method"], e["path"], e["status"], e["ops"]) for e in log] == [
        ("POST", "/api/v2/batch", 207, 2),
        ("POST", "/api/v2/batch", 207, 2),
        ("GET", "/api/v1/accounts/region", 200, 1),
        ("GET", "/v1/segments", 200, 1),
        ("POST", "/api/v2/batch", 400, None),
    ]
    assert log[0]["body_sha1"] == log[1]["body_sha1"] == hashlib.sha1(body).hexdigest()
    assert before <= log[0]["t"] <= log[1]["t"] <= time.monotonic()
    assert all(e["retry_after"] is None and e["fault"] is None for e in log)


def test_stats_count_requests_and_ops_per_route(workspace, track):
    track.batch(person({"id": "1"}), person({"id": "2"}), person({"id": ""}))
    track.batch(person({"id": "3"}))
    track.entity(person({"id": "4"}))
    track.entity(person({"id": ""}))
    track.session.put(f"{workspace.url}/api/v1/customers/5", json={"plan": "pro"}, timeout=10)
    track.get("/api/v1/nothing")
    segment = workspace.create_segment("VIP")["id"]
    track.post(f"/api/v1/segments/{segment}/add_customers", json={"ids": ["1"]})
    assert workspace.stats() == {
        "POST /api/v2/batch": {"requests": {"207": 1, "200": 1}, "ops": {"accepted": 3, "failed": 1}},
        "POST /api/v2/entity": {"requests": {"200": 1, "400": 1}, "ops": {"accepted": 1, "failed": 1}},
        "PUT /api/v1/customers/{identifier}": {"requests": {"200": 1}, "ops": {"accepted": 1, "failed": 0}},
        "GET (unknown route)": {"requests": {"404": 1}, "ops": {"accepted": 0, "failed": 0}},
        "POST /v1/segments": {"requests": {"200": 1}, "ops": {"accepted": 0, "failed": 0}},
        "POST /api/v1/segments/{segment_id}/add_customers": {
            "requests": {"200": 1},
            "ops": {"accepted": 0, "failed": 0},
        },
    }


def test_reset_clears_everything(workspace, track):
    workspace.settings(identify_by="id", object_types=["1", "2"])
    track.batch(person({"id": "1"}, {"email": "a@example.com"}), person({"id": "2"}, {"email": "a@example.com"}))
    workspace.create_segment("VIP")
    workspace.suppress(id="9")
    workspace.faults(rate_500=1.0)
    workspace.reset()
    assert workspace.people() == workspace.objects() == workspace.relationships() == []
    assert workspace.segments() == workspace.activities() == workspace.requests_log() == []
    assert workspace.stats() == {}
    assert workspace.settings() == {
        "identify_by": "both",
        "allow_email_update_by_id": False,
        "object_types": ["1"],
        "track_requests_per_second": None,
        "phone_identifiers": False,
    }
    assert track.batch(person({"id": "9"})).status_code == 200  # faults off, suppression gone
    assert workspace.person(id="9") is not None
    assert workspace.create_segment("again")["id"] == 1


def test_a_request_still_waiting_when_the_workspace_is_reset_never_reaches_the_new_workspace(workspace):
    """A delayed request of one test (an orphaned sync's, say) must not land in the next test's workspace."""
    workspace.faults(latency_ms=2000)
    outcome: list[str] = []

    def send() -> None:
        client = TrackClient(workspace)
        try:
            outcome.append(str(client.batch(person({"id": "late"})).status_code))
        except requests.ConnectionError:
            outcome.append("drop")
        finally:
            client.close()

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.5)  # the request has arrived: the emulator holds it for 2 s
    workspace.reset()
    sender.join(10)
    assert outcome == ["drop"]
    assert workspace.people() == [] and workspace.requests_log() == [] and workspace.stats() == {}


def test_latency_passes_while_other_requests_are_being_applied(workspace):
    """Latency stands for the network: it must not wait for the workspace to finish other requests.

    The test holds the workspace's lock for 2 s, as a long batch being applied would, while a request
    with 2 s of latency arrives. That request's latency runs alongside, so it is answered soon after
    the lock is free; were the latency to start only once the workspace is free, it would take 2 s
    more (the margin below is half of that).
    """
    latency = 2.0
    workspace.faults(latency_ms=int(latency * 1000))
    answered: list[float] = []

    def send() -> None:
        client = TrackClient(workspace)
        try:
            assert client.batch(person({"id": "far"})).status_code == 200
            answered.append(time.monotonic())
        finally:
            client.close()

    sender = threading.Thread(target=send)
    with workspace._server.lock:  # another request being applied
        sender.start()
        time.sleep(latency)
        released = time.monotonic()
    sender.join(10)
    assert len(answered) == 1, "the request was not answered"
    assert answered[0] - released < latency / 2
    assert [person["id"] for person in workspace.people()] == ["far"]
    assert workspace.requests_log()[0]["fault"] == "latency"
