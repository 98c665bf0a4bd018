"""The task registry: an explicit dict, so what exists is visible in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from tasks.ag_news import AgNewsTask
from tasks.base import TaskData, TaskInfo
from tasks.errors import UserError
from tasks.hyperpartisan import HyperpartisanTask
from tasks.winogrande import WinoGrandeTask


class Task(Protocol):
    info: TaskInfo
    train_configs: tuple[str, ...]
    default_train_config: str | None

    def load(self, data_dir: Path | None, train_config: str | None = None) -> TaskData: ...


REGISTRY: dict[str, Task] = {
    "ag_news": AgNewsTask(),
    "winogrande": WinoGrandeTask(),
    "hyperpartisan": HyperpartisanTask(),
}


def get_task(name: str) -> Task:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UserError(
            f"unknown task {name!r}: choose one of {', '.join(REGISTRY)} (see `greenbench tasks`)"
        ) from None
