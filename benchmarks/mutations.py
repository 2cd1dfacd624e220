"""The one-line bugs `mutation_check.py` plants, one at a time: each a realistic mistake and the tests that must
catch it. ``tests`` are pytest node ids (a file, or a file::test).

Two rounds. ``FIRST_ROUND``: the code as of 2026-11-28 (the loss, the trainers, metrics, statistics, the study's
store). ``SINCE_1129``: the code added since 2026-11-29, with at least one mutation in each new module of each kind
of bug that used to pass every test:

- ``range``: a documented range's end moved (an end refused, or a value just outside accepted);
- ``geometry``: paired data or tiles with a size factor above 1 cropped in the wrong place;
- ``unused``: an option accepted (and often recorded) but not used by the computation it names;
- ``normalise``: a value people type or plan with, normalised or rounded the unsafe way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    name: str
    file: str  # under src/mdfloss
    old: str
    new: str
    tests: tuple[str, ...]
    kind: str = "planted"


def M(name: str, file: str, old: str, new: str, *tests: str, kind: str = "planted") -> Mutation:
    return Mutation(name, file, old, new, tuple(tests), kind)


FIRST_ROUND = [
    M("ignore --init", "restoration/train.py", "        load_init(model, init, task)\n", "        pass\n",
      "tests/test_restoration.py::test_fine_tune_loads_the_init_weights"),
    M("restorer restarts instead of resuming", "restoration/train.py",
      "start = _resume(run, work, log) if resume else 0", "start = 0",
      "tests/test_restoration.py::test_train_resume_equals_uninterrupted"),
    M("phase 1 restarts instead of resuming", "phase1/trainer.py", "        if resume:\n            _restore(",
      "        if False:\n            _restore(", "tests/test_phase1.py::test_resumed_run_equals_uninterrupted"),
    M("y-coefficients swapped", "restoration/metrics.py", "[65.481, 128.553, 24.966]", "[24.966, 128.553, 65.481]",
      "tests/test_metrics_reference.py"),
    M("t quantile always 1.96", "restoration/stats.py", "    return float(t.ppf(0.5 + level / 2, df))",
      "    return 1.96", "tests/test_stats.py"),
    M("MDF drops its last tap", "loss/mdf.py", "        for n, i in enumerate(self._tap_index):",
      "        for n, i in enumerate(self._tap_index[:-1]):", "tests/test_parity.py"),
    M("loss spec drops its last term", "restoration/losses/spec.py",
      "        for w, term in zip(self.weights, self.terms):",
      "        for w, term in list(zip(self.weights, self.terms))[:-1]:",
      "tests/test_restoration.py::test_loss_specs"),
    M("pairs rows by order, not by image name", "restoration/stats.py",
      "    d = [[float(sa[k]) - float(sb[k]) for k in names] for sa, sb in zip(a, b)]",
      "    d = [[float(x) - float(y) for x, y in zip(sa.values(), sb.values())] for sa, sb in zip(a, b)]",
      "tests/test_stats.py::test_pairs_are_matched_by_image_name_not_order"),
    M("JPEG quality ignored", "tasks/primitives.py", 'format="JPEG", quality=q)', 'format="JPEG", quality=75)',
      "tests/test_settings_act.py::test_jpeg_quality_is_the_codecs_quality"),
    M("weight shapes not checked", "loss/weights.py", "            if tuple(t.shape) != shape:",
      "            if False:",
      "tests/test_settings_act.py::test_a_tensor_of_the_wrong_shape_is_refused"),
    M("learning rate never decays", "common/runs.py", "    return base * factor ** sum(", "    return base + 0 * sum(",
      "tests/test_settings_act.py::test_restorer_learning_rate_schedule_by_hand"),
    M("answers stored with synchronous=NORMAL", "study/store.py", 'db.execute("PRAGMA synchronous=FULL")',
      'db.execute("PRAGMA synchronous=NORMAL")',
      "tests/test_settings_act.py::test_answer_store_is_durable_on_a_live_connection"),
    M("pyramid skips a scale at exactly one receptive field", "loss/mdf.py", "if min(size) >= RECEPTIVE_FIELD:",
      "if min(size) > RECEPTIVE_FIELD:",
      "tests/test_settings_act.py::test_pyramid_uses_a_scale_at_exactly_one_receptive_field"),
    M("degraded negatives ignored", "phase1/steps.py", "    negative = degraded_real(run.k,",
      "    negative = None and degraded_real(run.k,",
      "tests/test_phase1_negatives.py::test_a_run_with_negatives_logs_their_gap_and_trains_other_critics"),
    M("calibration weights ignored", "loss/mdf.py", "            if weighted and self._sqrt_w is not None:",
      "            if False:", "tests/test_calibration.py::test_calibration_weights_enter_the_loss_as_channel_weights"),
]

# the effect and range-end tests written for this round, by area
TASKS = "tests/test_effects_tasks.py"
STUDY = "tests/test_effects_study.py"
LOSSES = "tests/test_effects_losses.py"
PHASE1 = "tests/test_effects_phase1.py"
PEERS = "tests/test_feature_peers.py"
RESTORE = "tests/test_restore.py"

SINCE_1129 = [
    # tasks/registry.py: one task concept
    M("task: a range's upper end refused", "tasks/registry.py", "value > hi or value < lo",
      "value >= hi or value < lo", f"{TASKS}::test_task_ranges_accept_both_ends_and_refuse_just_outside", kind="range"),
    M("task: sigma 0 accepted", "tasks/registry.py", "(low_open and value == lo)", "(low_open and value < lo)",
      f"{TASKS}::test_task_ranges_accept_both_ends_and_refuse_just_outside", kind="range"),
    M("task: quality 10.0 kept a float", "tasks/registry.py", "return int(value) if integer else float(value)",
      "return value if integer else float(value)", f"{TASKS}::test_typed_task_values_are_normalised", kind="normalise"),
    M("task: sigma divided by 256", "tasks/registry.py", "else value / 255", "else value / 256",
      f"{TASKS}::test_denoise_sigma_is_on_the_255_scale", kind="normalise"),
    M("task: modcrop keeps the width", "tasks/registry.py", "x[..., : h - h % f, : w - w % f]",
      "x[..., : h - h % f, :w]", f"{TASKS}::test_modcrop_makes_both_sides_multiples_of_the_factor", kind="geometry"),
    # tasks/primitives.py
    M("jpeg: a drawn quality truncated, not rounded", "tasks/primitives.py",
      "q = int(round(sample(quality, generator)))",
      "q = int(sample(quality, generator))", f"{TASKS}::test_a_drawn_jpeg_quality_is_rounded", kind="normalise"),
    M("a [min, max] draw ignores min", "tasks/primitives.py", "return float(lo + (hi - lo) * torch.rand(",
      "return float((hi - lo) * torch.rand(", f"{TASKS}::test_range_draws_fill_min_to_max", kind="range"),
    # restoration/data.py: paired data
    M("paired: the HR crop not on the LR grid", "restoration/data.py",
      "y = int(torch.randint((h - self.patch) // f + 1, (), generator=g)) * f",
      "y = int(torch.randint((h - self.patch) // f + 1, (), generator=g)) * f + (f > 1)",
      "tests/test_paired_geometry.py", kind="geometry"),
    M("paired: sizes checked at factor 1", "restoration/data.py",
      "if (lq.shape[-2] * factor, lq.shape[-1] * factor) != hq_size:",
      "if (lq.shape[-2], lq.shape[-1] * factor) != hq_size:", f"{TASKS}::test_paired_sizes_are_checked_at_the_factor",
      kind="geometry"),
    # restoration/score_folders.py
    M("score: --border ignored", "restoration/score_folders.py", "score_pair(out, ref, border, jod_model, jod_display)",
      "score_pair(out, ref, 0, jod_model, jod_display)", f"{STUDY}::test_score_border_crops_before_scoring",
      kind="unused"),
    M("score: --jod-display ignored", "restoration/score_folders.py",
      "jod_display = jod_display or DEFAULT_JOD_DISPLAY",
      "jod_display = DEFAULT_JOD_DISPLAY", f"{STUDY}::test_score_jod_display_sets_the_viewing_conditions",
      kind="unused"),
    M("score: border -1 accepted", "restoration/score_folders.py", "if border < 0:", "if border < -1:",
      f"{STUDY}::test_score_border_range", kind="range"),
    M("score: differences to the first folder reversed", "restoration/score_folders.py",
      "paired_difference(by[name][m], by[first][m])", "paired_difference(by[first][m], by[name][m])",
      f"{STUDY}::test_score_report_differences_are_folder_minus_first", kind="normalise"),
    # study/screening.py, study/codes.py
    M("screening: --catch-min 1 refused", "study/screening.py", "if not 0 < catch_min <= 1:",
      "if not 0 < catch_min < 1:", f"{STUDY}::test_screening_ranges", kind="range"),
    M("screening: --min-ms ignored", "study/screening.py", "if median is not None and median < min_ms:",
      "if median is not None and median < MIN_MS:", f"{STUDY}::test_screening_min_ms_sets_the_speed_limit",
      kind="unused"),
    M("screening: catch threshold off by one", "study/screening.py", "if catch and correct < catch_min * len(catch):",
      "if catch and correct <= catch_min * len(catch):", f"{STUDY}::test_screening_catch_threshold_is_inclusive",
      kind="range"),
    M("codes: typed in lower case refused", "study/codes.py", 'flat = "".join(c for c in code.upper() if c.isalnum())',
      'flat = "".join(c for c in code if c.isalnum())', f"{STUDY}::test_typed_codes_are_normalised", kind="normalise"),
    M("codes: practice trials dropped", "study/codes.py", 'return ["practice"] * practice + [body[k] for k in order]',
      "return [body[k] for k in order]", f"{STUDY}::test_trial_order_has_every_kind_once_per_count", kind="unused"),
    # study/plan.py, plan_inputs.py
    M("plan: --power 0.5 refused", "study/plan.py", "if not 0.5 <= power < 1:", "if not 0.5 < power < 1:",
      f"{STUDY}::test_plan_ranges", kind="range"),
    M("plan: --power ignored", "study/plan.py", "target = float(special.ndtri(power))",
      "target = float(special.ndtri(0.95))", f"{STUDY}::test_plan_power_sets_the_answers", kind="unused"),
    M("plan: observers rounded to nearest", "study/plan.py", "math.ceil(pair.answers / self.trials)",
      "round(pair.answers / self.trials)", f"{STUDY}::test_plan_rounds_observers_up", kind="normalise"),
    M("plan: --simulations 20 refused", "study/plan.py", '("--simulations", simulations, 20)',
      '("--simulations", simulations, 21)', f"{STUDY}::test_plan_ranges", kind="range"),
    M("plan inputs: the scenes that differ least", "study/plan_inputs.py", "np.argsort(-table.std(axis=1)",
      "np.argsort(table.std(axis=1)",
      "tests/test_study_plan.py::test_plan_from_a_benchmark_uses_the_images_where_the_losses_differ_most",
      kind="unused"),
    M("study: 50 catch trials refused", "study/create.py", "not 0 <= value <= most", "not 0 <= value < most",
      f"{STUDY}::test_screening_trial_counts_range_and_effect", kind="range"),
    M("study create: --catch ignored", "cli/study.py", "practice=practice, catch=catch, identical=identical,",
      "practice=practice, catch=0, identical=identical,",
      f"{STUDY}::test_study_create_screening_options_reach_the_study", kind="unused"),
    M("study plan: --condition ignored", "study/plan_inputs.py", "losses = list(losses) or list(results[set_name])",
      "losses = list(results[set_name])", f"{STUDY}::test_study_plan_conditions_choose_the_losses", kind="unused"),
    # common/progress.py
    M("progress: a line every every+1 steps", "common/progress.py", "if self.n - self._printed_at >= self.every",
      "if self.n - self._printed_at > self.every", f"{STUDY}::test_progress_prints_every_n_steps", kind="range"),
    M("progress: ETA from all work, not work left", "common/progress.py",
      "(self.clock() - self.t0) / units_done * (self.total - units_done)",
      "(self.clock() - self.t0) / units_done * self.total", f"{STUDY}::test_work_clock_eta_counts_the_work_left",
      kind="normalise"),
    # integrations: drop-ins
    M("basicsr: loss_weight ignored", "integrations/basicsr.py", "value = self.loss_weight * self.mdf(pred, target)",
      "value = self.mdf(pred, target)", f"{LOSSES}::test_dropin_results_equal_mdfloss_own", kind="unused"),
    M("neosr: loss_weight ignored", "integrations/neosr.py", "return self.loss_weight * self.mdf(output, gt)",
      "return self.mdf(output, gt)", f"{LOSSES}::test_dropin_results_equal_mdfloss_own", kind="unused"),
    M("traiNNer-redux: a negative weight made positive", "integrations/trainner_redux.py",
      "weight(loss_weight, allow_negative=True)", "abs(weight(loss_weight, allow_negative=True))",
      f"{LOSSES}::test_dropin_weight_ranges", kind="normalise"),
    M("drop-ins: scales ignored", "integrations/_frozen.py", "scales=None if scales is None else list(scales)",
      "scales=None", f"{LOSSES}::test_dropin_results_equal_mdfloss_own", kind="unused"),
    M("drop-ins: calibrated ignored", "integrations/_frozen.py", "calibrated=calibrated, check_range=False",
      "calibrated=None, check_range=False", f"{LOSSES}::test_dropin_calibrated_passes_through", kind="unused"),
    M("drop-ins: loss_weight 0 accepted", "integrations/_frozen.py",
      "(value == 0 if allow_negative else not value > 0)", "(value == 0 if allow_negative else value < 0)",
      f"{LOSSES}::test_dropin_weight_ranges", kind="range"),
    # loss/random_critics.py, restoration/losses/{precision,weight_free}.py
    M("random critics: seed ignored", "loss/random_critics.py", "gen = torch.Generator().manual_seed(seed)",
      "gen = torch.Generator().manual_seed(0)",
      f"{PEERS}::test_random_critics_are_phase1_initialisation_drawn_in_its_order", kind="unused"),
    M("random critics: seed -1 accepted", "loss/random_critics.py", "or seed < 0:", "or seed < -1:",
      f"{PEERS}::test_random_critics_refuse_a_bad_seed", kind="range"),
    M("@bf16 runs in float32", "restoration/losses/precision.py",
      "with torch.autocast(prediction.device.type, dtype=torch.bfloat16):",
      "with torch.autocast(prediction.device.type, dtype=torch.bfloat16, enabled=False):",
      f"{LOSSES}::test_bf16_term_computes_in_bfloat16", kind="unused"),
    M("MS-SWD: only the finest scale", "restoration/losses/weight_free.py", "for p, t in zip(pyr_p, pyr_t):",
      "for p, t in zip(pyr_p[:1], pyr_t[:1]):", f"{PEERS}::test_ms_swd_options_take_effect", kind="unused"),
    M("MS-SWD: the smallest level refused at its limit", "restoration/losses/weight_free.py",
      "if smallest <= patch // 2:", "if smallest <= patch // 2 + 1:",
      f"{PEERS}::test_ms_swd_refuses_levels_smaller_than_the_patch", kind="range"),
    M("MS-SWD module: projections ignored", "restoration/losses/weight_free.py",
      "projections=self.projections,\n", "projections=24,\n", f"{PEERS}::test_ms_swd_options_take_effect",
      kind="unused"),
    M("FFL: alpha ignored", "restoration/losses/weight_free.py", "w = dist.sqrt() ** alpha", "w = dist.sqrt()",
      f"{PEERS}::test_focal_frequency_loss_matches_the_authors_package", kind="unused"),
    # restoration/restore.py
    M("restore: overlap not used at the far side", "restoration/restore.py",
      "y1, x1 = min(h, y + tile + overlap), min(w, x + tile + overlap)", "y1, x1 = min(h, y + tile), min(w, x + tile)",
      f"{RESTORE}::test_tiled_equals_untiled", kind="unused"),
    M("restore: SR tiles placed at input coordinates", "restoration/restore.py",
      "oy, ox = (y - y0) * scale, (x - x0) * scale", "oy, ox = (y - y0), (x - x0)",
      f"{RESTORE}::test_tiled_equals_untiled", kind="geometry"),
    M("restore: tile 8 refused", "restoration/restore.py", "if tile and tile < 8:", "if tile and tile <= 8:",
      f"{RESTORE}::test_tiled_equals_untiled", f"{RESTORE}::test_bad_tiles_are_refused", kind="range"),
    M("restore: 16-bit PNG truncated", "restoration/restore.py", "np.round(arr * 65535).astype", "(arr * 65535).astype",
      f"{RESTORE}::test_restore_folder_keeps_names_refuses_overwrite_and_writes_16_bit", kind="normalise"),
    # restoration/foreign_models.py, presets.network_options
    M("foreign: plain params preferred to EMA", "restoration/foreign_models.py",
      'for key in ("params_ema", "params", "state_dict", "model"):',
      'for key in ("params", "params_ema", "state_dict", "model"):', f"{LOSSES}::test_foreign_checkpoint_prefers_ema",
      kind="normalise"),
    M("--depth ignored", "restoration/presets.py", "    if depth is not None:\n        model[",
      "    if False:\n        model[", f"{LOSSES}::test_network_options_build_what_they_name", kind="unused"),
    M("--width 1 refused", "restoration/presets.py", "or not isinstance(value, int) or value < 1):",
      "or not isinstance(value, int) or value < 2):", f"{LOSSES}::test_network_options_ranges", kind="range"),
    # Phase-1 terms and the specificity analysis
    M("specificity cap ignored", "phase1/steps.py", "return torch.relu(term + math.log(cap)) if cap > 0 else term",
      "return term", f"{PHASE1}::test_specificity_cap_stops_the_term_at_the_cap", kind="unused"),
    M("descent alignment weight ignored", "phase1/steps.py",
      'loss_d = loss_d + run.config.descent_alignment * extras["alignment_term"]',
      'loss_d = loss_d + extras["alignment_term"]', f"{PHASE1}::test_phase1_term_weights_scale_the_critic_loss",
      kind="unused"),
    M("specificity: the MSE ratio not divided out", "analysis/specificity.py",
      "crit[i, k] = math.log(d_art / max(d_noise, 1e-30) / mse_ratio)",
      "crit[i, k] = math.log(d_art / max(d_noise, 1e-30))", f"{PHASE1}::test_specificity_is_per_unit_of_mse",
      kind="normalise"),
    M("specificity: --scales ignored", "analysis/specificity.py", "                if k in in_loss:",
      "                if True:", f"{PHASE1}::test_specificity_scales_choose_the_loss_critics", kind="unused"),
    M("artefact: task parameters ignored", "analysis/artefacts.py", "deg = get_task(task, params)",
      "deg = get_task(task)", f"{TASKS}::test_task_artefact_uses_its_parameters", kind="unused"),
    M("calibrate: --scale ignored", "analysis/artefacts.py", '"sisr": {"scale": scale}', '"sisr": {"scale": 4}',
      f"{TASKS}::test_loss_artefact_reads_its_task_and_the_middle_of_a_range", kind="unused"),
    M("calibrate: a quality range's middle cut, not rounded", "analysis/artefacts.py",
      '"jpeg": {"quality": int(round(_mid(', '"jpeg": {"quality": int((_mid(',
      f"{TASKS}::test_loss_artefact_reads_its_task_and_the_middle_of_a_range", kind="normalise"),
    M("calibration: draws ignored", "analysis/calibrate.py", "        for d in range(draws):",
      "        for d in range(1):", f"{PHASE1}::test_calibration_draws_take_effect", kind="unused"),
    # the registry, typed options, metric directions, logs and records, the command lines' pass-throughs
    M("registry: a name may start with a digit", "common/registry.py", 'NAME_RULE = re.compile(r"[a-z][a-z0-9_]*")',
      'NAME_RULE = re.compile(r"[a-z0-9_]+")', "tests/test_extending.py::test_one_registry_type_with_one_rule",
      kind="range"),
    M("registry: replace=True keeps the old entry", "common/registry.py", "        self._entries[name] = entry\n",
      "        self._entries.setdefault(name, entry)\n",
      "tests/test_extending.py::test_registry_decorator_replace_and_hooks", kind="unused"),
    M("--param values kept as text", "cli/options.py", "            params[key] = json.loads(value)",
      "            params[key] = value", f"{TASKS}::test_typed_params_are_json_values", kind="normalise"),
    M("FLIP counted higher-is-better", "restoration/metric_table.py", '"flip": MetricEntry(_perceptual("flip"), False',
      '"flip": MetricEntry(_perceptual("flip"), True', f"{STUDY}::test_metric_directions_decide_who_is_ahead",
      kind="normalise"),
    M("TensorBoard drops the loss", "common/tensorboard.py", 'if k not in ("event", "iteration", "scale")',
      'if k not in ("event", "iteration", "scale", "loss")',
      "tests/test_run_options.py::test_tensorboard_logs_losses_and_a_restored_image", kind="unused"),
    M("Phase-1 settings record terms that are off", "phase1/config.py", "            if not d[optional]:",
      "            if False:", "tests/test_phase1_descent_alignment.py::test_runs_record_the_weight_only_when_it_is_on",
      kind="unused"),
    M("study plan: --trials ignored", "cli/study_plan.py", "trials=trials, power=power", "trials=30, power=power",
      f"{STUDY}::test_study_plan_trials_set_the_observers", kind="unused"),
    M("restore: --bits ignored", "cli/restore.py", "bits=int(bits))", "bits=8)",
      f"{RESTORE}::test_restore_folder_keeps_names_refuses_overwrite_and_writes_16_bit", kind="unused"),
]

MUTATIONS = FIRST_ROUND + SINCE_1129
