"""Training: dataset builder, models (registered by name), losses, Ray Train recipe, evaluation, report.

    trendflow build-dataset --dataset DIR --store STORE --out TRAIN_DIR
    trendflow train --model {baseline,szabo_huberman,v0,v0_content,v1,v2} --data TRAIN_DIR --out MODEL_DIR
    trendflow evaluate --model MODEL_DIR --data TRAIN_DIR --split test --out metrics.json
    trendflow report --models MODEL_DIR ... --out REPORT_DIR      (each MODEL_DIR/metrics.json)
    trendflow compare --data TRAIN_DIR --out RUNS_DIR              (all of the above for every model)

Importing this package is cheap: torch, Ray and LightGBM are imported by the modules that use them.
"""
