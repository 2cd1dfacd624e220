"""Restoration networks trained with any loss: networks (:mod:`.models`, :mod:`.foreign_models` for
spandrel's), data (:mod:`.data`), losses (:mod:`.losses`: pixel, MDF, VGG, LPIPS, MS-SWD, focal
frequency, and the spec registry), training (:mod:`.train`, :mod:`.presets`), evaluation and metrics
(:mod:`.evaluate`, :mod:`.score_folders`, :mod:`.metrics`, :mod:`.perceptual`, :mod:`.metric_table`), and
the benchmark: its protocol (:mod:`.benchmark`, :mod:`.bench_presets`), statistics (:mod:`.stats`) and
report (:mod:`.report`). Tasks come from :mod:`mdfloss.tasks` (:mod:`.degradations` keeps the older
names)."""
