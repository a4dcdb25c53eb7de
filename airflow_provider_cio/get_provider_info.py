"""Provider metadata read by Airflow's providers manager.

This module must import nothing from Airflow: it is loaded while ``airflow.configuration``
initialises, and an Airflow import here breaks every ``airflow`` command with a circular import.
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow reads through the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": "airflow-provider-cio",
        "name": "Customer.io reverse ETL",
        "description": "Sync people, objects and relationships from MySQL into a Customer.io workspace.",
        "versions": ["0.1.0"],
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
                ],
            }
        ],
        "extra-links": ["airflow_provider_cio.operators.links.ErrorReportLink"],
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
                },
            }
        ],
    }
