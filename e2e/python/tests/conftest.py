import os

import pytest
from huggingface_hub import HfApi

from helpers import ENDPOINT


def pytest_report_header(config):
    import huggingface_hub

    return f"huggingface_hub {huggingface_hub.__version__} against {ENDPOINT}"


@pytest.fixture(scope="session")
def api() -> HfApi:
    # As a user has it: endpoint and token from the environment.
    return HfApi()


@pytest.fixture(scope="session")
def user(api) -> str:
    return api.whoami()["name"]


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    """A folder kept across the two runs of a workflow."""
    return tmp_path_factory.mktemp("work")
