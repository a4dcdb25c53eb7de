"""HTTPS to the workspace: certificate verification is always on; the ``customerio`` connection's extra
``ca_bundle`` names the CA to trust, and it wins over the machine's ``REQUESTS_CA_BUNDLE``.

The emulator serves HTTPS with a certificate of its own (``WorkspaceEmulator(tls=True)``), which no system
trust store holds, so a sync without ``ca_bundle`` must fail: with a message that says to set it, after one
request attempt (no retries: a certificate does not get better by waiting), having sent nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_cio.hooks.customerio import CustomerIOHook
from airflow_provider_cio.operators.reverse_etl import MySQLReverseETLOperator
from airflow_provider_cio.testing import WorkspaceEmulator
from airflow_provider_cio.testing.dagruns import run_dag
from security.certificates import TLSFiles, make_pki

pytestmark = pytest.mark.usefixtures("airflow_db")
_dag_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def https_workspace() -> Iterator[WorkspaceEmulator]:
    """The emulator over HTTPS; ``ca_bundle`` is the path of its certificate."""
    with WorkspaceEmulator(tls=True) as workspace:
        yield workspace


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A CA that did not sign the emulator's certificate."""
    return make_pki(tmp_path_factory.mktemp("https") / "stranger", "stranger")


@pytest.fixture
def users(mysql_db, https_workspace: WorkspaceEmulator) -> None:
    mysql_db.execute(
        "CREATE TABLE users (id INT PRIMARY KEY, plan VARCHAR(20))",
        "INSERT INTO users VALUES (1, 'pro'), (2, 'free'), (3, 'pro')",
    )
    https_workspace.reset()


def use_connection(monkeypatch: pytest.MonkeyPatch, workspace: WorkspaceEmulator, **extra: Any) -> None:
    """``cio_https``: the emulator's HTTPS connection with these extras (``None`` removes one)."""
    connection = workspace.connection()
    connection["extra"] = {k: v for k, v in {**connection["extra"], **extra}.items() if v is not None}
    monkeypatch.setenv("AIRFLOW_CONN_CIO_HTTPS", json.dumps(connection))


def sync() -> tuple[str, dict[str, Any]]:
    from airflow.sdk import DAG

    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    with DAG(f"https_{next(_dag_numbers)}", schedule=None, start_date=start) as dag:
        MySQLReverseETLOperator(
            task_id="sync",
            sql="SELECT id, plan FROM users",
            customerio_conn_id="cio_https",
            concurrency=1,
            activity_settle_seconds=0,
        )
    outcome = run_dag(dag, start)
    return outcome.task_states["sync"], outcome.xcom("sync")


def tls_failure(workspace: WorkspaceEmulator) -> str:
    return (
        f"CustomerIOError: TLS verification of {workspace.url}/api/v2/batch failed for connection 'cio_https': "
        "SSLError. Set the connection extra ca_bundle to the CA that signed its certificate."
    )


def test_a_sync_over_https_trusts_the_ca_bundle_of_the_connection(
    users, https_workspace: WorkspaceEmulator, stranger: TLSFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_connection(monkeypatch, https_workspace)  # ca_bundle: the emulator's certificate
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", stranger.ca)  # the machine trusts something else

    state, report = sync()

    assert https_workspace.url.startswith("https://")
    assert state == "success" and report["rows_sent"] == 3
    assert sorted(p["id"] for p in https_workspace.people()) == ["1", "2", "3"]


def test_without_ca_bundle_verification_fails_once_says_what_to_set_and_sends_nothing(
    users, https_workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    use_connection(monkeypatch, https_workspace, ca_bundle=None)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)  # the default trust store
    capfd.readouterr()

    state, report = sync()

    assert state == "failed"
    assert report["error"] == tls_failure(https_workspace)
    assert report["requests_sent"] == 1, "no retry: a certificate does not get better by waiting"
    assert "retrying" not in capfd.readouterr().out
    assert https_workspace.requests_log() == [] and https_workspace.people() == []


def test_the_connections_ca_bundle_wins_over_requests_ca_bundle(
    users, https_workspace: WorkspaceEmulator, stranger: TLSFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_connection(monkeypatch, https_workspace, ca_bundle=stranger.ca)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", https_workspace.ca_bundle)  # the machine would trust the emulator

    state, report = sync()

    assert state == "failed"
    assert report["error"] == tls_failure(https_workspace)
    assert https_workspace.requests_log() == []


def test_a_ca_bundle_that_does_not_exist_is_named_in_the_error(
    users, https_workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_connection(monkeypatch, https_workspace, ca_bundle="/etc/cio/missing-ca.pem")

    state, report = sync()

    assert state == "failed"
    assert report["error"] == (
        "CustomerIOError: connection 'cio_https': the extra ca_bundle names '/etc/cio/missing-ca.pem', which does not "
        "exist on this worker; give the path of a PEM file holding the CA certificate(s) to trust"
    )
    assert https_workspace.requests_log() == []


def test_the_connection_test_button_reports_a_certificate_it_cannot_verify(
    https_workspace: WorkspaceEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``airflow connections test`` and the UI's Test button call ``CustomerIOHook.test_connection``."""
    use_connection(monkeypatch, https_workspace)
    assert CustomerIOHook("cio_https").test_connection() == (
        True,
        "Credentials accepted; the workspace is in region 'us'.",
    )

    use_connection(monkeypatch, https_workspace, ca_bundle=None)
    ok, message = CustomerIOHook("cio_https").test_connection()
    assert not ok
    assert message == (
        f"TLS verification of {https_workspace.url}/api/v1/accounts/region failed for connection 'cio_https': "
        "SSLError. Set the connection extra ca_bundle to the CA that signed its certificate."
    )
