"""Restoration networks trained with any loss: networks (:mod:`.models`), data
(:mod:`.data`), degradations (:mod:`.degradations`), losses (:mod:`.losses`), training
(:mod:`.train`), evaluation and metrics (:mod:`.evaluate`, :mod:`.metrics`,
:mod:`.perceptual`), and the benchmark: its protocol (:mod:`.benchmark`), statistics
(:mod:`.stats`) and report (:mod:`.report`)."""
