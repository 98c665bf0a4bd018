"""Shared fixtures. Tests read the real data from ../shared/data and never touch the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = Path(os.environ.get("GREENBENCH_TEST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (SHARED_DATA / "README.md").is_file():
        pytest.fail(f"the shared benchmark data is not at {SHARED_DATA}: set GREENBENCH_TEST_DATA to its folder")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fast_profile() -> Path:
    """A cpu profile with short passes, so end-to-end tests exercise every step in seconds."""
    return FIXTURES / "fast-cpu.yaml"


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("GREENBENCH_CACHE", str(cache))
    return cache
