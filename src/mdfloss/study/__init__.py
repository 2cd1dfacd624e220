"""A pairwise-comparison user study, from restorations to a JOD table.

``create`` makes the study folder, ``service``/``server`` ask observers (SQLite ``store``, active
``sampling``), ``scaling``/``analysis``/``report`` turn answers into JOD with bootstrap intervals as
pwcmp does, and ``simulate`` checks the whole loop against known scores.
"""
