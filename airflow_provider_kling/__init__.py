"""Apache Airflow provider for Kling video generation (through CometAPI or Kling's own API)."""

from __future__ import annotations

from typing import Any

from airflow_provider_kling._constants import (
    DEFAULT_BACKEND_NAME,
    DEFAULT_REQUESTS_PER_SECOND,
    DEFAULT_RETRY_DELAY,
    DEFAULT_RETRY_LIMIT,
    DEFAULT_TIMEOUT,
)

__version__ = "0.1.0"
#: Where the provider is documented (its README, as the package index shows it).
DOCUMENTATION_URL = "https://pypi.org/project/airflow-provider-kling/"

#: How the ``kling`` connection form reads in the Airflow UI: key, access key, base URL and extras show.
CONNECTION_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    # The port stays on the form: on Airflow 3.3.1 and 3.3.2 the connection list's Test button fails for a connection
    # saved without one (the UI sends port 0; apache/airflow#73298). 443, with an https base URL, is harmless.
    "hidden_fields": ["schema", "extra"],
    "relabeling": {
        "password": "API key",
        "login": "Access key (Kling's own API only)",
        "host": "Base URL",
        "port": "Port (optional)",
    },
    "placeholders": {
        "password": "CometAPI key (sk-...), or Kling's secret key",
        "login": "Kling's access key; empty for CometAPI",
        "host": "https://api.cometapi.com",
        "port": "the base URL's (443 for https); set it for Airflow 3.3.1-3.3.2's Test button",
    },
}

#: The connection's own fields, kept in its extras: declared for Airflow 3.2+'s form, built into
#: widgets by :meth:`~airflow_provider_kling.hooks.kling.KlingHook.get_connection_form_widgets` before.
CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "backend": {
        "label": "Backend",
        "description": "cometapi (CometAPI's gateway, the default) or kling (Kling's own API: "
        "the access key in Login, the secret key in Password).",
        "schema": {
            "type": ["string", "null"],
            "enum": ["cometapi", "kling", None],
            "default": DEFAULT_BACKEND_NAME,
        },
    },
    "timeout": {
        "label": "Request timeout (seconds)",
        "schema": {"type": ["number", "null"], "default": DEFAULT_TIMEOUT},
    },
    "retry_limit": {
        "label": "Retries of transient errors",
        "schema": {"type": ["integer", "null"], "default": DEFAULT_RETRY_LIMIT},
    },
    "retry_delay": {
        "label": "Base retry delay (seconds)",
        "schema": {"type": ["number", "null"], "default": DEFAULT_RETRY_DELAY},
    },
    "requests_per_second": {
        "label": "Requests a second (per triggerer)",
        "description": "The most requests a second that all the waits of one triggerer send with this "
        "connection, together; 10 unless set (our choice: CometAPI publishes no rate).",
        "schema": {"type": ["number", "null"], "default": DEFAULT_REQUESTS_PER_SECOND},
    },
    "extra_models": {
        "label": "Extra model names",
        "description": "Comma-separated model names to accept beyond the known ones.",
        "schema": {"type": ["string", "null"]},
    },
}

_INTEGRATION = "Kling"


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow (entry point ``apache_airflow_provider``)."""
    return {
        "package-name": "airflow-provider-kling",
        "name": "Kling",
        "versions": [__version__],
        "documentation-url": DOCUMENTATION_URL,
        "description": "Generate videos from text, images and videos with [Kling](https://klingai.com/) through "
        "CometAPI or Kling's own API.",
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_kling.hooks.kling"]}],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider_kling.operators.kling",
                    "airflow_provider_kling.operators.image2video",
                    "airflow_provider_kling.operators.multi_image2video",
                    "airflow_provider_kling.operators.video_extend",
                    "airflow_provider_kling.operators.omni_video",
                    "airflow_provider_kling.operators.multi_elements",
                    "airflow_provider_kling.operators.effects",
                    "airflow_provider_kling.operators.lip_sync",
                    "airflow_provider_kling.operators.audio",
                ],
            }
        ],
        "sensors": [{"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_kling.sensors.kling"]}],
        "triggers": [{"integration-name": _INTEGRATION, "python-modules": ["airflow_provider_kling.triggers.kling"]}],
        "extra-links": ["airflow_provider_kling.links.kling.KlingVideoLink"],
        "connection-types": [
            {
                "connection-type": "kling",
                "hook-class-name": "airflow_provider_kling.hooks.kling.KlingHook",
                "hook-name": "Kling",
                "ui-field-behaviour": {
                    "hidden-fields": CONNECTION_UI_FIELD_BEHAVIOUR["hidden_fields"],
                    "relabeling": CONNECTION_UI_FIELD_BEHAVIOUR["relabeling"],
                    "placeholders": CONNECTION_UI_FIELD_BEHAVIOUR["placeholders"],
                },
                "conn-fields": CONNECTION_FIELDS,
            }
        ],
    }
