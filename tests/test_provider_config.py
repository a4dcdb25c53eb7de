"""The provider's ``[customerio]`` config section, as Airflow's own CLI shows and reads it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_cio.get_provider_info import get_provider_info
from airflow_provider_cio.pools import workspace_pool

ROOT = Path(__file__).resolve().parents[1]


def airflow(*args: str, tmp_path: Path, **env: str) -> str:
    """Run the ``airflow`` command of this interpreter in a fresh Airflow home; return its output."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW__CUSTOMERIO__", "AIRFLOW_HOME"))
    }
    environment.update(AIRFLOW_HOME=str(tmp_path), PYTHONPATH=str(ROOT), **env)
    command = [sys.executable, "-m", "airflow", *args]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def test_airflow_config_list_shows_the_customerio_section_with_its_defaults(tmp_path: Path) -> None:
    out = airflow(
        "config", "list", "--section", "customerio", "--show-values", "--include-descriptions", tmp_path=tmp_path
    )

    assert "[customerio]" in out
    assert f"storage_base = file://{tmp_path}\n" in out
    assert "pool_name_template = customerio_{conn_id}\n" in out
    assert "# Where the syncs write their files" in out


def test_a_deployment_sets_the_options_once_in_airflow_configuration(tmp_path: Path) -> None:
    out = airflow(
        "config",
        "list",
        "--section",
        "customerio",
        "--show-values",
        tmp_path=tmp_path,
        AIRFLOW__CUSTOMERIO__STORAGE_BASE="s3://aws_default@bucket/cio",
        AIRFLOW__CUSTOMERIO__POOL_NAME_TEMPLATE="cio_{conn_id}",
    )

    assert "storage_base = s3://aws_default@bucket/cio\n" in out
    assert "pool_name_template = cio_{conn_id}\n" in out


def test_the_pool_name_follows_the_configured_template(monkeypatch: pytest.MonkeyPatch) -> None:
    assert workspace_pool("crm") == "customerio_crm"

    monkeypatch.setenv("AIRFLOW__CUSTOMERIO__POOL_NAME_TEMPLATE", "cio-{conn_id}-pool")
    assert workspace_pool("crm") == "cio-crm-pool"

    monkeypatch.setenv("AIRFLOW__CUSTOMERIO__POOL_NAME_TEMPLATE", "cio-{workspace}")
    with pytest.raises(ValueError, match=r"pool_name_template may name only \{conn_id\}"):
        workspace_pool("crm")


def test_the_provider_info_declares_the_section_airflow_validates() -> None:
    """Every option has what Airflow's provider-info schema asks for (it refuses the provider otherwise)."""
    import json

    import airflow
    import jsonschema

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert sorted(info["config"]["customerio"]["options"]) == ["pool_name_template", "storage_base"]
