"""Restoration's older names for tasks, kept so that existing code keeps working: ``Degradation(task, **params)``
is :func:`mdfloss.tasks.get_task` and ``TASKS`` the built-in task names.

Resize convention of SISR: PyTorch's bicubic (a = -0.75) with antialiasing, align_corners=False
(``mdfloss.common.resize.resize``); close to MATLAB's imresize but not bit-identical, so SR numbers
are comparable among mdfloss runs, not to papers that used MATLAB. The low-resolution image is
quantised to 8 bits, as a saved LR image would be.
"""

from __future__ import annotations

from typing import Any

from mdfloss.tasks import Task, builtin_tasks, get_task

TASKS = builtin_tasks()


def Degradation(task: str, **params: Any) -> Task:  # capitalised: the name of the class it replaced
    """The task ``task`` with ``params`` (``scale``, ``sigma`` on the 0-255 scale, ``quality``, or a plug-in's)."""
    return get_task(task, params)
