"""The provider as Airflow sees it: entry point, provider info schema, connection form, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from importlib.resources import files
from importlib.util import find_spec

import jsonschema
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS

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


def test_the_connection_form_names_the_keys_and_offers_every_extra():
    # What the UI builds the form from: Airflow 3's React form reads the hook metadata of its API
    # server; Airflow 2's Flask form reads the providers manager's widgets and field behaviours.
    from airflow.providers_manager import ProvidersManager

    from airflow_provider_kling import CONNECTION_FIELDS

    titles = {
        "password": "API key",
        "login": "Access key (Kling's own API only)",
        "host": "Base URL",
        "port": "Port (optional)",
    }
    if AIRFLOW_V_3_0_PLUS:
        from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

        plain_form = not AIRFLOW_V_3_1_PLUS and find_spec("wtforms") is None  # asked before the UI mocks it
        (meta,) = [meta for meta in HookMetaService.hook_meta_data() if meta.connection_type == "kling"]
        if plain_form:
            # Airflow 3.0 reads a hook's form through FAB's wtforms only; without FAB installed, every
            # connection type gets the plain form, extras as JSON (README: Airflow versions).
            assert meta.standard_fields is None and not meta.extra_fields
            return
        assert {name: getattr(meta.standard_fields, name).title for name in titles} == titles
        assert meta.standard_fields.url_schema.hidden and not meta.standard_fields.port.hidden
        extras = set(meta.extra_fields or ())
    else:
        manager = ProvidersManager()
        behaviour = manager.field_behaviours["kling"]
        assert behaviour["relabeling"] == titles
        assert "schema" in behaviour["hidden_fields"] and "port" not in behaviour["hidden_fields"]
        extras = {name.removeprefix("extra__kling__") for name in manager.connection_form_widgets if "kling" in name}
    assert extras == set(CONNECTION_FIELDS)


def test_workers_find_the_hook_for_the_connection_type():
    try:  # Airflow 3.2+: workers find hooks through their own manager
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime as WorkersManager
    except ImportError:
        from airflow.providers_manager import ProvidersManager as WorkersManager
    assert WorkersManager().hooks["kling"].hook_class_name == "airflow_provider_kling.hooks.kling.KlingHook"


def test_airflow_providers_get_shows_the_provider_its_version_and_documentation_url():
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "get", "airflow-provider-kling", "--full", "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    # Airflow 3.0 logs to stdout too: the answer is the line that is a JSON array.
    (shown,) = [line for line in result.stdout.splitlines() if line.startswith("[{")]
    [provider] = json.loads(shown)
    assert provider["package-name"] == "airflow-provider-kling" and provider["versions"] == ["0.1.0"]
    assert provider["documentation-url"] == "https://pypi.org/project/airflow-provider-kling/"


def test_the_wheel_carries_the_license_and_the_sdist_leaves_the_tests_out(tmp_path):
    import tarfile
    import zipfile

    from conftest import REPO

    from airflow_provider_kling import __version__

    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path)]
    subprocess.run([*build, str(REPO)], check=True, capture_output=True)
    sdist = subprocess.run(
        [sys.executable, "-c", f"from setuptools.build_meta import build_sdist; print(build_sdist({str(tmp_path)!r}))"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    [wheel] = tmp_path.glob("*.whl")
    assert wheel.name == f"airflow_provider_kling-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"airflow_provider_kling-{__version__}.dist-info/METADATA").decode()
    licenses = {name.rpartition("/")[2] for name in names if ".dist-info/licenses/" in name}
    assert licenses == {"LICENSE", "NOTICE"}
    assert "Classifier: Framework :: Apache Airflow :: Provider" in metadata
    assert "Project-URL: Documentation, https://pypi.org/project/airflow-provider-kling/" in metadata
    assert any(name.startswith("airflow_provider_kling/sandbox/") and name.endswith(".mp4") for name in names)
    with tarfile.open(tmp_path / sdist) as archive:
        members = {member.name.partition("/")[2] for member in archive.getmembers()}
    assert {"LICENSE", "NOTICE", "CHANGELOG.md", "README.md", "airflow_provider_kling/py.typed"} <= members
    assert not [name for name in members if name.startswith(("tests/", "benchmarks/", "scripts/"))]
