"""The shared layer every capability uses: errors, atomic files, image I/O and resizing,
checkpoints, argument validation, devices and distributed helpers, and the run helper
(:mod:`mdfloss.common.runs`) that both trainers share. It imports no capability."""
