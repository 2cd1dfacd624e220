"""Optional TensorBoard logging of a training run (the ``[tensorboard]`` extra): losses and sample images.

Off unless asked for (``--tensorboard``); asked for without the extra, it stops with one line naming it.
Only one process of a distributed run writes.

Example:
    >>> from mdfloss.common.tensorboard import TensorBoard
    >>> tb = TensorBoard(None)  # disabled: every call does nothing
    >>> tb.scalars(0, loss=1.0); tb.close()
"""

from __future__ import annotations

from pathlib import Path

from mdfloss.common.extras import require


class TensorBoard:
    """Scalars and images under ``folder`` (a SummaryWriter), or nothing when ``folder`` is None."""

    def __init__(self, folder: str | Path | None) -> None:
        self.writer = None
        if folder is not None:
            require("tensorboard", "tensorboard", "TensorBoard logging")
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(folder))

    def scalars(self, step: int, prefix: str = "", **values: float) -> None:
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"{prefix}{name}", float(value), step)

    def log_event(self, record: dict) -> None:
        """A training log record (:class:`~mdfloss.common.runs.JsonlLog`): its numbers as scalars under
        ``EVENT/NAME`` (Phase 1: ``EVENT_scaleK/NAME``), at its iteration."""
        if self.writer is None or "iteration" not in record:
            return
        prefix = str(record.get("event", "log")) + (f"_scale{record['scale']}" if "scale" in record else "") + "/"
        numbers = {k: v for k, v in record.items() if k not in ("event", "iteration", "scale")
                   and isinstance(v, (int, float)) and not isinstance(v, bool)}
        self.scalars(int(record["iteration"]), prefix, **numbers)

    def image(self, tag: str, image, step: int) -> None:
        """``image``: (3, H, W) in [0, 1]."""
        if self.writer is not None:
            self.writer.add_image(tag, image.detach().float().clamp(0, 1).cpu(), step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
