"""`python -m serve_apps.summary` (the summary of one TRAIN_DIR video without the service)."""

from serve_apps.summary.cli import main
from tests.serve_apps.summary_fixtures import summarize


def test_the_cli_prints_what_the_summarizer_says(summarizer, summary_v0, video_with_actions, capsys):
    features, category = video_with_actions
    assert main(["--model", summary_v0.model_dir, "--video", features["video_id"], "--locale", "en"]) == 0
    printed = capsys.readouterr().out
    expected, _ = summarize(summarizer, summary_v0, features, category)
    assert printed == expected["text"]  # the same row, model and reference data: the same words and numbers
    assert main(["--model", summary_v0.model_dir, "--video", features["video_id"], "--detail", "full", "--json"]) == 0
    assert '"tables": {' in capsys.readouterr().out


def test_cli_mistakes_are_errors_not_tracebacks(summary_v0, tmp_path, capsys):
    assert main(["--model", summary_v0.model_dir, "--video", "nope"]) == 2
    assert "error: video 'nope' is not in the 'test' split" in capsys.readouterr().err
    assert main(["--model", str(tmp_path / "missing"), "--video", "vid00001"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing" in err and "Traceback" not in err


def test_another_model_answers_and_v0_beside_it_explains(summary_train_dir, summary_v0, video_with_actions,
                                                         tmp_path, capsys):
    """The layout `trendflow compare` writes: the answering model's what-ifs, v0_content's contributions."""
    import shutil

    from train.config import TrainConfig
    from train.pipeline import train_model
    models = tmp_path / "models"
    shutil.copytree(summary_v0.model_dir, models / "v0_content")
    train_model("baseline", summary_train_dir, str(models / "baseline"), TrainConfig(wandb_mode="disabled"),
                log=lambda *_: None)
    features, _ = video_with_actions
    assert main(["--model", str(models / "baseline"), "--video", features["video_id"], "--locale", "en",
                 "--json"]) == 0
    import json
    out = json.loads(capsys.readouterr().out)["summary"]
    assert out["measured_on"]["model"] == "baseline" and out["measured_on"]["contributions_model"] == "v0_content"
    # the per-bucket median baseline ignores every lever: its what-ifs change nothing, so no action is invented
    assert all("feature" not in a for a in out["actions"])
    assert "No single lever" in out["text"] and any(i.get("kind") == "contribution" for i in out["why"])
