"""CustomerIOHook against the workspace emulator over real HTTP: auth, outcomes, retries, segments, activities."""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from airflow.sdk import Connection

from airflow_provider_cio.hooks.customerio import (
    CustomerIOAuthError,
    CustomerIOCancelledError,
    CustomerIOError,
    CustomerIOHook,
    CustomerIOUnavailableError,
    RetryPolicy,
    parse_connection,
)
from airflow_provider_cio.testing import WorkspaceEmulator

FAST_RETRY = RetryPolicy(max_attempts=12, base_delay=0.05, max_delay=0.5, max_total=120)


def person_op(person_id: str, **attributes: object) -> bytes:
    return orjson.dumps(
        {"type": "person", "identifiers": {"id": person_id}, "action": "identify", "attributes": attributes}
    )


def use_connection(monkeypatch: pytest.MonkeyPatch, ws: WorkspaceEmulator, conn_id: str, **changes: object) -> None:
    connection = ws.connection()
    extra = dict(connection.get("extra") or {})
    extra.update(changes.pop("extra", {}))  # type: ignore[arg-type]
    connection.update(changes, extra=extra)
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))


def test_test_connection_accepts_good_credentials(workspace: WorkspaceEmulator) -> None:
    ok, message = CustomerIOHook().test_connection()
    assert ok, message
    assert "region 'us'" in message


def test_bad_credentials_are_a_clear_error_naming_the_connection(
    workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    use_connection(monkeypatch, workspace, "cio_wrong", password="not-the-key")
    hook = CustomerIOHook("cio_wrong", retry=FAST_RETRY)
    ok, message = hook.test_connection()
    assert not ok
    assert "'cio_wrong'" in message and "Site ID and Track API key" in message
    with pytest.raises(CustomerIOAuthError) as raised:
        hook.send_batch([person_op("1")])
    assert "'cio_wrong'" in str(raised.value)
    assert "not-the-key" not in str(raised.value) + caplog.text
    assert [r["status"] for r in workspace.requests_log()] == [401, 401], "401 is not retried"


def test_a_207_marks_exactly_the_refused_ops(workspace: WorkspaceEmulator) -> None:
    ops = [person_op(str(i), plan="pro") for i in range(10)]
    ops[2] = person_op("2", email="not-an-email")
    ops[5] = person_op("5", token="x" * 1001)
    ops[7] = orjson.dumps(
        {"type": "object", "identifiers": {"object_type_id": "9", "object_id": "acme"}, "action": "identify"}
    )
    refused = CustomerIOHook().send_batch(ops)
    assert [(e.index, e.reason) for e in refused] == [(2, "invalid"), (5, "too_large"), (7, "invalid")]
    assert refused[1].field == "attributes.token"
    assert sorted(p["id"] for p in workspace.people()) == ["0", "1", "3", "4", "6", "8", "9"]


def test_faults_on_a_third_of_requests_lose_nothing_and_resend_only_unanswered_batches(
    workspace: WorkspaceEmulator,
) -> None:
    """Every batch is applied; a batch is sent again only when it got no answer it could trust (429, 503, a
    dropped connection), never after its 200. A drop *after* the workspace applied the batch makes the resend
    apply it twice (delivery is at least once; ops are idempotent): the ops applied are counted, so a
    batch applied more often than that shows."""
    workspace.faults(seed=7, rate_429=0.1, rate_503=0.1, rate_drop=0.1, retry_after=1, drop_after_apply=0.5)
    hook = CustomerIOHook(retry=FAST_RETRY, max_connections=8)
    batches = [[person_op(str(i), n=i) for i in range(start, start + 250)] for start in range(0, 10_000, 250)]
    with ThreadPoolExecutor(8) as pool:
        refused = [error for errors in pool.map(hook.send_batch, batches) for error in errors]
    assert refused == []
    people = workspace.people()
    assert len(people) == 10_000
    assert {p["id"] for p in people} == {str(i) for i in range(10_000)}
    assert all(p["attributes"]["n"] == p["id"] for p in people)
    log = workspace.requests_log()
    faulted = [r for r in log if r["fault"] in ("429", "503", "drop")]
    assert len(faulted) > 0.15 * len(log), "the faults were really injected"

    answered = [r for r in log if r["status"] == 200]
    assert sorted(r["body_sha1"] for r in answered) == sorted({r["body_sha1"] for r in log}), "each batch: one 200"
    for ok in answered:
        assert not [r for r in log if r["body_sha1"] == ok["body_sha1"] and r["seq"] > ok["seq"]], "none after a 200"
    drops = sum(r["fault"] == "drop" for r in log)
    applied = workspace.stats()["POST /api/v2/batch"]["ops"]["accepted"]
    assert applied % 250 == 0 and 10_000 <= applied <= 10_000 + 250 * drops, (applied, drops)


def test_retry_after_is_respected(workspace: WorkspaceEmulator) -> None:
    workspace.faults(seed=3, rate_429=0.5, retry_after=1)
    hook = CustomerIOHook(retry=FAST_RETRY)
    for start in range(0, 40, 4):
        assert hook.send_batch([person_op(str(i)) for i in range(start, start + 4)]) == []
    log = workspace.requests_log()
    throttled = [r for r in log if r["status"] == 429]
    assert throttled, "the seed gives some 429s"
    for answer in throttled:
        resend = next(r for r in log if r["seq"] > answer["seq"] and r["body_sha1"] == answer["body_sha1"])
        assert resend["t"] - answer["t"] >= answer["retry_after"], (answer, resend)


def test_a_request_over_500kb_is_split_and_never_resent_as_is(workspace: WorkspaceEmulator) -> None:
    ops = [person_op(str(i), bio="b" * 900) for i in range(600)]  # ~560 kB in one request
    assert CustomerIOHook().send_batch(ops) == []
    assert len(workspace.people()) == 600
    statuses = [(r["status"], r["ops"]) for r in workspace.requests_log()]
    assert statuses[0][0] == 413
    assert [status for status, _ in statuses[1:]] == [200, 200]
    assert sum(ops for _, ops in statuses[1:]) == 600


def test_an_op_over_32000_bytes_is_refused_by_the_workspace(workspace: WorkspaceEmulator) -> None:
    attributes = {f"a{i}": "x" * 990 for i in range(33)}
    refused = CustomerIOHook().send_batch([person_op("1", **attributes), person_op("2")])
    assert [(e.index, e.reason) for e in refused] == [(0, "too_large")]
    assert [p["id"] for p in workspace.people()] == ["2"]


def test_other_4xx_answers_are_not_retried(workspace: WorkspaceEmulator) -> None:
    with pytest.raises(CustomerIOError, match="404"):
        CustomerIOHook(retry=FAST_RETRY).add_to_segment(999, ["1"])
    assert len(workspace.requests_log()) == 1


def test_a_workspace_down_for_good_exhausts_the_retry_budget(workspace: WorkspaceEmulator) -> None:
    workspace.faults(seed=1, rate_503=1.0)
    policy = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_total=30)
    with pytest.raises(CustomerIOUnavailableError, match=r"gave up after 4 attempts .*HTTP 503"):
        CustomerIOHook(retry=policy).send_batch([person_op("1")])
    assert len(workspace.requests_log()) == 4
    assert workspace.people() == []


def test_cancel_stops_a_retry_wait_at_once(workspace: WorkspaceEmulator) -> None:
    workspace.faults(seed=1, rate_429=1.0, retry_after=30)
    hook = CustomerIOHook(retry=RetryPolicy(max_attempts=5, max_total=300))
    threading.Timer(0.5, hook.cancel).start()
    started = time.monotonic()
    with pytest.raises(CustomerIOCancelledError):
        hook.send_batch([person_op("1")])
    assert time.monotonic() - started < 10


def test_segments_are_filled_1000_ids_a_call_and_found_by_name(workspace: WorkspaceEmulator) -> None:
    hook = CustomerIOHook()
    hook.send_batch([person_op(str(i)) for i in range(2500)])
    segment_id = hook.ensure_manual_segment("Synced from MySQL")
    assert hook.ensure_manual_segment("Synced from MySQL") == segment_id
    assert hook.add_to_segment(segment_id, (str(i) for i in range(2500)), id_type="id") == 2500
    (segment,) = workspace.segments()
    assert segment["name"] == "Synced from MySQL" and len(segment["members"]) == 2500
    calls = [r for r in workspace.requests_log() if r["path"].endswith("/add_customers")]
    assert len(calls) == 3


def test_activities_are_read_page_by_page_since_a_time(workspace: WorkspaceEmulator) -> None:
    hook = CustomerIOHook()
    hook.send_batch([person_op(str(i), email=f"p{i}@example.com") for i in range(150)])
    since = int(time.time())
    hook.send_batch([person_op(f"other{i}", email=f"p{i}@example.com") for i in range(150)])
    conflicts = list(hook.iter_activities("failed_attribute_change", since))
    assert len(conflicts) == 150
    assert {a["customer_identifiers"]["id"] for a in conflicts} == {f"other{i}" for i in range(150)}
    assert len([r for r in workspace.requests_log() if r["path"].startswith("/v1/activities")]) == 2


def test_app_api_calls_without_an_app_api_key_say_what_is_missing(
    workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = workspace.connection()
    connection["extra"] = {}
    monkeypatch.setenv("AIRFLOW_CONN_CIO_TRACK_ONLY", json.dumps(connection))
    hook = CustomerIOHook("cio_track_only")
    assert not hook.can_read_activities
    with pytest.raises(CustomerIOError, match="no App API key"):
        hook.ensure_manual_segment("x")


def test_secrets_stay_out_of_logs_and_errors(
    workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    workspace.faults(seed=5, rate_503=0.5)
    hook = CustomerIOHook(retry=FAST_RETRY)
    hook.send_batch([person_op(str(i)) for i in range(20)])
    settings_text = repr(hook.settings)
    for secret in (workspace.api_key, workspace.app_api_key):
        assert secret not in caplog.text
        assert secret not in settings_text


@pytest.mark.parametrize(
    ("fields", "track", "app"),
    [
        ({}, "https://track.customer.io", "https://api.customer.io"),
        ({"extra": {"region": "eu"}}, "https://track-eu.customer.io", "https://api-eu.customer.io"),
        ({"extra": {"extra__customerio__region": "EU"}}, "https://track-eu.customer.io", "https://api-eu.customer.io"),
        ({"host": "127.0.0.1", "port": 8080, "schema": "http"}, "http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ({"host": "proxy.internal"}, "https://proxy.internal", "https://proxy.internal"),
    ],
)
def test_connections_choose_hosts_by_region_or_override(fields: dict, track: str, app: str) -> None:
    settings = parse_connection(connection(login="site", password="key", **fields))
    assert (settings.track_url, settings.app_url) == (track, app)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"login": "site"}, "Track API key as password"),
        ({"login": "site", "password": "k", "extra": {"region": "apac"}}, "region must be 'us' or 'eu'"),
    ],
)
def test_incomplete_connections_are_refused_with_what_to_fix(fields: dict, message: str) -> None:
    with pytest.raises(CustomerIOError, match=message):
        parse_connection(connection(**fields))


def connection(**fields: object) -> Connection:
    """An Airflow connection of type customerio, with ``extra`` given as a dict."""
    extra = fields.pop("extra", None)
    return Connection(conn_id="c", conn_type="customerio", extra=json.dumps(extra) if extra else None, **fields)
