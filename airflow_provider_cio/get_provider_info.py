"""Provider metadata read by Airflow's providers manager.

This module must import nothing from Airflow: it is loaded while ``airflow.configuration``
initialises, and an Airflow import here breaks every ``airflow`` command with a circular import.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

PACKAGE_NAME = "airflow-provider-cio"


def package_version() -> str:
    """The installed version (pyproject.toml is its one source); ``0+unknown`` when run from an uninstalled tree."""
    try:
        return version(PACKAGE_NAME)
    except PackageNotFoundError:
        return "0+unknown"


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow reads through the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": PACKAGE_NAME,
        "name": "Customer.io reverse ETL",
        "description": "Sync people, objects and relationships from MySQL or PostgreSQL into a Customer.io workspace.",
        "versions": [package_version()],
        "integrations": [
            {
                "integration-name": "Customer.io",
                "external-doc-url": "https://customer.io/docs/api/track/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Customer.io",
                "python-modules": ["airflow_provider_cio.hooks.customerio"],
            }
        ],
        "operators": [
            {
                "integration-name": "Customer.io",
                "python-modules": [
                    "airflow_provider_cio.operators.reverse_etl",
                    "airflow_provider_cio.operators.relationships",
                    "airflow_provider_cio.operators.postgres",
                    "airflow_provider_cio.operators.sql",
                ],
            }
        ],
        "extra-links": ["airflow_provider_cio.operators.links.ErrorReportLink"],
        "asset-uris": [
            {
                "schemes": ["customerio"],
                "handler": "airflow_provider_cio.assets.sanitize_uri",
                "factory": "airflow_provider_cio.assets.create_asset",
                "to_openlineage_converter": "airflow_provider_cio.assets.convert_asset_to_openlineage",
            }
        ],
        "config": {
            "customerio": {
                "description": "Defaults of the Customer.io sync operators that a deployment sets once.",
                "options": {
                    "storage_base": {
                        "description": (
                            "Where the syncs write their files: error reports (cio_error_reports/...) and mirror "
                            "snapshots (cio_snapshots/...) go under this ObjectStoragePath URI. The file:// default "
                            "works when every worker shares one disk; with several hosts use shared storage, e.g. "
                            "s3://aws_default@my-bucket/customerio (needs the Amazon provider)."
                        ),
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "s3://aws_default@my-bucket/customerio",
                        "default": "file://{AIRFLOW_HOME}",
                    },
                    "pool_name_template": {
                        "description": (
                            "The name of a workspace's one-slot pool, from its customerio connection id "
                            "({conn_id}). workspace_pool() and cio-retl create-pool both use it."
                        ),
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "cio_{conn_id}",
                        "default": "customerio_{conn_id}",
                    },
                },
            }
        },
        "connection-types": [
            {
                "connection-type": "customerio",
                "hook-class-name": "airflow_provider_cio.hooks.customerio.CustomerIOHook",
                "hook-name": "Customer.io",
                "ui-field-behaviour": {
                    "hidden-fields": ["extra"],
                    "relabeling": {
                        "login": "Site ID",
                        "password": "Track API key",
                        "host": "Base URL override (optional)",
                        "schema": "Scheme for the base URL override (http or https)",
                    },
                    "placeholders": {
                        "login": "Site ID from Settings > API credentials",
                        "password": "Track API key",
                        "host": "leave empty for Customer.io; set for the emulator or a proxy",
                        "port": "port of the base URL override",
                        "schema": "https",
                    },
                },
                "conn-fields": {
                    "region": {
                        "label": "Region",
                        "description": "Account region: us (default) or eu. Chooses the Customer.io hosts.",
                        "schema": {"type": ["string", "null"], "enum": ["us", "eu", None]},
                    },
                    "app_api_key": {
                        "label": "App API key",
                        "description": "Needed to create segments and to read failed attribute changes.",
                        "schema": {"type": ["string", "null"], "format": "password"},
                    },
                    "ca_bundle": {
                        "label": "CA bundle",
                        "description": "Path of a CA bundle to verify HTTPS with (optional).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "requests_per_second": {
                        "label": "Requests per second",
                        "description": (
                            "The most Track API requests per second a sync through this connection sends, "
                            "retries included. Empty: 100 (Customer.io's fair-use limit). Lower it when other tools "
                            "also call this workspace; a 429 answer slows the sync down further on its own."
                        ),
                        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
                    },
                },
            }
        ],
    }
