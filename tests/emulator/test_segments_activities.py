"""Manual segments (Track and App API), the App API rate limit, and the activity log."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from airflow_provider_cio.testing import emulator as emulator_client
from airflow_provider_cio.testing import server as emulator_server

from .conftest import person


def members(workspace, segment_id: int) -> list[str]:
    [segment] = [s for s in workspace.segments() if s["id"] == segment_id]
    return segment["members"]


def cio(workspace, **identifier) -> str:
    return workspace.person(**identifier)["cio_id"]


@pytest.fixture
def people(track):
    track.batch(
        person({"id": "1"}, {"email": "a@example.com"}),
        person({"id": "2"}, {"email": "b@example.com"}),
        person({"id": "3"}),
    )


# --- segments ---------------------------------------------------------------------------------------


def test_create_and_list_segments_through_the_app_api(workspace, track):
    first = workspace.create_segment("VIP", "the best")
    assert first == {
        "id": 1,
        "name": "VIP",
        "description": "the best",
        "type": "manual",
        "state": "finished",
        "progress": None,
    }
    second = track.app("POST", "/v1/segments", json={"segment": {"name": "Churned"}}).json()["segment"]
    assert (second["id"], second["description"]) == (2, "")
    listed = track.app("GET", "/v1/segments").json()
    assert listed == {"segments": [first, second]}
    assert workspace.segments() == [
        {"id": 1, "name": "VIP", "description": "the best", "type": "manual", "members": []},
        {"id": 2, "name": "Churned", "description": "", "type": "manual", "members": []},
    ]


@pytest.mark.parametrize("body", [{}, {"segment": {}}, {"segment": {"name": ""}}, {"segment": "VIP"}])
def test_a_segment_needs_a_name(track, body):
    response = track.app("POST", "/v1/segments", json=body)
    assert response.status_code == 400
    assert response.json()["meta"]["error"]


def test_add_and_remove_customers_by_id_email_and_cio_id(workspace, track, people):
    segment = workspace.create_segment("VIP")["id"]
    add = f"/api/v1/segments/{segment}/add_customers"
    remove = f"/api/v1/segments/{segment}/remove_customers"
    assert track.post(add, json={"ids": ["2", 1, "nobody", "1"]}).json() == {}
    assert members(workspace, segment) == [cio(workspace, id="2"), cio(workspace, id="1")]
    track.post(add, params={"id_type": "email"}, json={"ids": ["A@example.com", "3", "ghost@example.com"]})
    assert members(workspace, segment) == [cio(workspace, id="2"), cio(workspace, id="1")]
    track.post(add, params={"id_type": "cio_id"}, json={"ids": [cio(workspace, id="3")]})
    assert len(members(workspace, segment)) == 3
    track.post(remove, params={"id_type": "email"}, json={"ids": ["b@example.com"]})
    track.post(remove, json={"ids": ["3", "nobody"]})
    assert members(workspace, segment) == [cio(workspace, id="1")]


def test_segment_calls_check_ids_id_type_and_segment(workspace, track, people):
    segment = workspace.create_segment("VIP")["id"]
    add = f"/api/v1/segments/{segment}/add_customers"
    assert track.post(add, json={"ids": [str(i) for i in range(1000)]}).status_code == 200
    for body in ({"ids": [str(i) for i in range(1001)]}, {"ids": []}, {"ids": "1"}, {}):
        response = track.post(add, json=body)
        assert response.status_code == 400
        assert set(response.json()["meta"]) == {"error"}
    assert track.post(add, params={"id_type": "phone"}, json={"ids": ["1"]}).status_code == 400
    for unknown in ("99", "abc"):
        response = track.post(f"/api/v1/segments/{unknown}/add_customers", json={"ids": ["1"]})
        assert response.status_code == 404
        assert response.json()["meta"]["error"]
    refused = track.app("POST", f"/api/v1/segments/{segment}/add_customers", json={"ids": ["1"]})
    assert refused.status_code == 401  # Track auth, not App API auth


def test_deleted_and_suppressed_people_drop_out_of_segments(workspace, track, people):
    segment = workspace.create_segment("VIP")["id"]
    track.post(f"/api/v1/segments/{segment}/add_customers", json={"ids": ["1", "2", "3"]})
    track.batch(person({"id": "1"}, action="delete"))
    workspace.suppress(email="b@example.com")
    assert members(workspace, segment) == [cio(workspace, id="3")]


class FrozenClock:
    """The emulator's clock, stopped: requests arrive at the same instant however slowly this machine sends
    them, and time moves only when the test (or a ``sleep`` of the code under test) moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """Stop the clock of the emulator's server (in this process): its rate-limit window reads this clock."""
    clock = FrozenClock()
    monkeypatch.setattr(emulator_server, "time", SimpleNamespace(monotonic=clock.monotonic, sleep=time.sleep))
    return clock


def test_app_api_allows_10_requests_a_second_then_429(workspace, track, frozen_clock):
    statuses = [track.app("GET", "/v1/segments").status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    refused = track.app("GET", "/v1/activities")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json() == {"meta": {"error": "rate limited"}}
    assert track.get("/api/v1/accounts/region").status_code == 200  # the Track API is not limited
    assert workspace.people() == []  # nor the admin endpoints
    frozen_clock.now += 0.999
    assert track.app("GET", "/v1/segments").status_code == 429, "the window is one second"
    frozen_clock.now += 0.001
    assert track.app("GET", "/v1/segments").status_code == 200
    entry = workspace.requests_log()[-4]
    assert (entry["path"], entry["status"], entry["retry_after"]) == ("/v1/activities", 429, 1)


def test_create_segment_helper_waits_out_the_rate_limit(workspace, track, frozen_clock, monkeypatch):
    monkeypatch.setattr(emulator_client, "time", SimpleNamespace(sleep=frozen_clock.sleep))
    for _ in range(10):
        track.app("GET", "/v1/segments")
    assert workspace.create_segment("late")["id"] == 1
    assert frozen_clock.slept == [1.0], "waited what Retry-After said, once"
    creations = [r["status"] for r in workspace.requests_log() if r["path"] == "/v1/segments" and r["method"] == "POST"]
    assert creations == [429, 200]


# --- activity log -----------------------------------------------------------------------------------


def make_conflicts(track, count: int) -> None:
    track.batch(person({"id": "owner"}, {"email": "taken@example.com"}))
    track.batch(*(person({"id": f"p{i}"}, {"email": "taken@example.com"}) for i in range(count)))


def test_activity_log_pages_newest_first(workspace, track):
    make_conflicts(track, 7)
    everything = workspace.activities()
    assert [a["customer_identifiers"]["id"] for a in everything] == [f"p{i}" for i in range(7)]
    assert len({a["id"] for a in everything}) == 7
    seen, start, pages = [], "", 0
    while True:
        params = {"type": "failed_attribute_change", "limit": 3, **({"start": start} if start else {})}
        page = track.app("GET", "/v1/activities", params=params).json()
        seen += page["activities"]
        pages += 1
        start = page["next"]
        if not start:
            break
    assert pages == 3
    assert seen == list(reversed(everything))


def test_activity_log_defaults_filters_and_limits(workspace, track):
    make_conflicts(track, 3)
    page = track.app("GET", "/v1/activities").json()
    assert (len(page["activities"]), page["next"]) == (3, "")
    assert track.app("GET", "/v1/activities", params={"type": "other_type"}).json() == {"activities": [], "next": ""}
    for bad in ({"limit": "0"}, {"limit": "x"}, {"start": "bogus"}, {"start": "999"}):
        response = track.app("GET", "/v1/activities", params=bad)
        assert response.status_code == 400


def test_activity_page_limit_defaults_to_50_and_caps_at_100(workspace, track):
    make_conflicts(track, 120)
    first = track.app("GET", "/v1/activities").json()
    assert len(first["activities"]) == 50 and first["next"]
    capped = track.app("GET", "/v1/activities", params={"limit": 500}).json()
    assert len(capped["activities"]) == 100
    rest = track.app("GET", "/v1/activities", params={"limit": 100, "start": capped["next"]}).json()
    assert (len(rest["activities"]), rest["next"]) == (20, "")


def test_activity_cursor_stays_valid_while_activities_are_added(workspace, track):
    make_conflicts(track, 4)
    first = track.app("GET", "/v1/activities", params={"limit": 2}).json()
    track.batch(person({"id": "late"}, {"email": "taken@example.com"}))  # a newer activity
    rest = track.app("GET", "/v1/activities", params={"limit": 10, "start": first["next"]}).json()
    assert [a["customer_identifiers"]["id"] for a in first["activities"] + rest["activities"]] == [
        "p3",
        "p2",
        "p1",
        "p0",
    ]
