import subprocess
import sys

import streamal


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert streamal.__all__ == sorted(streamal.__all__)
    assert set(streamal.__all__) == {*streamal._EXPORTS, "__version__"}
    for name in streamal.__all__:
        assert getattr(streamal, name) is not None, name


def test_the_version_comes_from_the_package_metadata() -> None:
    from importlib import metadata

    assert streamal.__version__ == metadata.version("streamal")


def test_importing_the_core_does_not_load_settings_kafka_or_http() -> None:
    code = ("import sys, streamal.core.learner\n"
            "heavy = {'pydantic', 'pydantic_settings', 'kafka', 'fastapi', 'prometheus_client'} & set(sys.modules)\n"
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
