"""Ray Tune sweeps over the neural training recipes (v1, v2): `trendflow tune`.

- `tune.config`: the `tune` config section (search space, metric, ASHA, resources, storage).
- `tune.space`: search space → Ray Tune, a trial's parameters → its `TrainConfig`, up-front checks.
- `tune.trial`: the Tune function of one trial, launching the recipe's Ray Train run (Train V2 + Tune).
- `tune.sweep`: the driver (`run_sweep`): data read once, checks, Tuner / Tuner.restore.
- `tune.progress`, `tune.release`: Tune callbacks (console progress; freeing stopped trials' CPUs).
- `tune.rerank`: the best trials and the default config trained again over seeds; the best mean wins.
- `tune.results`: best.yaml, trials.csv / .md / .png, rerank.csv / .md, summary.json.
- `tune.study` (`python -m tune.study`): configs retrained over seeds, compared paired by seed.
- `tune.order_probe` (`python -m tune.order_probe`): a TRAIN_DIR whose growth depends on shot order.
Imports flow `trendflow ← train ← tune`; nothing imports `tune`.
"""
