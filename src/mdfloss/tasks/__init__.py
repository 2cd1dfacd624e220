"""Tasks: what a restoration method must undo, in one registry shared by every command."""

from mdfloss.tasks.registry import (
    Task,
    builtin_tasks,
    get_task,
    register_task,
)

__all__ = ["Task", "builtin_tasks", "get_task", "register_task"]
