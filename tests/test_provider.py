"""The provider as Airflow sees it: entry point, provider info schema, connection form, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from importlib.resources import files

import jsonschema

from airflow_provider_kling import get_provider_info


def test_provider_info_validates_against_airflows_schema():
    schema = json.loads(files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_entry_point_is_registered():
    (entry_point,) = [
        ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_provider_kling")
    ]
    assert entry_point.load() is get_provider_info


def test_every_declared_module_and_class_imports():
    import importlib

    info = get_provider_info()
    modules = [
        module
        for kind in ("hooks", "operators", "sensors", "triggers")
        for item in info[kind]
        for module in item["python-modules"]
    ]
    for module in modules:
        importlib.import_module(module)
    for dotted in [*info["extra-links"], *(c["hook-class-name"] for c in info["connection-types"])]:
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted


def test_providers_manager_reads_the_connection_form():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "airflow-provider-kling" in manager.providers
    behaviour = manager.field_behaviours["kling"]
    assert "login" not in behaviour["hidden_fields"] and "schema" in behaviour["hidden_fields"]
    assert behaviour["relabeling"] == {
        "password": "API key",
        "login": "Access key (Kling's own API only)",
        "host": "Base URL",
    }
    widgets = manager.connection_form_widgets
    assert {
        "extra__kling__backend",
        "extra__kling__timeout",
        "extra__kling__retry_limit",
        "extra__kling__extra_models",
    } <= set(widgets)

    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    assert (
        ProvidersManagerTaskRuntime().hooks["kling"].hook_class_name == "airflow_provider_kling.hooks.kling.KlingHook"
    )


def test_airflow_providers_list_shows_the_provider():
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    listed = {provider["package_name"]: provider for provider in json.loads(result.stdout)}
    assert listed["airflow-provider-kling"]["version"] == "0.1.0"
