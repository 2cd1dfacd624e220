"""A pairwise-comparison user study, from restorations to a JOD table.

``create`` (and ``from_benchmark``) makes the study folder, ``service``/``server`` ask observers (SQLite
``store``, active ``sampling``, completion ``codes``), ``answers``/``scaling``/``screening``/``analysis``/``report``
turn answers into JOD with bootstrap intervals as pwcmp does, ``simulate``
checks the whole loop against known scores, and ``plan``/``plan_inputs``/``plan_report`` size a study.
"""
