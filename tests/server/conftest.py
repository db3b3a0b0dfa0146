"""Fixtures for the studio tests: a real Bach dataset (8 chorales), a tiny trained model, the app and a client.

The dataset and the model are made once per session in their own data home and copied into each test's fresh
``MUSEFORGE_HOME`` (see the root conftest), so every test starts from known files.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")

from fastapi.testclient import TestClient  # noqa: E402

from tests.tiny_models import TINY_MODEL  # noqa: E402


@pytest.fixture(scope="session")
def built_home(make_tiny_bach_home: Callable[..., Path]) -> Path:
    """A data home holding the bach dataset (8 real chorales) and a tiny completed model, made once."""
    return make_tiny_bach_home("built_home", name=TINY_MODEL, songs=8)


@pytest.fixture
def bach_home(museforge_home: Path, built_home: Path) -> Path:
    """This test's data home with the bach dataset built (no models)."""
    shutil.copytree(built_home / "datasets", museforge_home / "datasets")
    return museforge_home


@pytest.fixture
def model_home(bach_home: Path, built_home: Path) -> Path:
    """This test's data home with the bach dataset and the tiny model, as if trained from the CLI."""
    shutil.copytree(built_home / "models" / TINY_MODEL, bach_home / "models" / TINY_MODEL)
    return bach_home


@pytest.fixture
def client(museforge_home: Path) -> Iterator[TestClient]:
    """A client of a fresh app over this test's data home, its job dispatcher running."""
    from museforge.server.app import create_app

    with TestClient(create_app(), base_url="http://localhost", raise_server_exceptions=True) as test_client:
        yield test_client
