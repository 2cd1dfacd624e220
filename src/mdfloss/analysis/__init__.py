"""Measuring and shaping what a loss weighs: the task's artefacts (:mod:`.artefacts`), calibrated taps
(:mod:`.calibrate`) and task specificity (:mod:`.specificity`). Built on :mod:`mdfloss.loss` and the
restoration tasks."""
