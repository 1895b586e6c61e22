"""What would fail only once a job runs is an error at ``validate`` and ``plan``, with the field.

A local data path that does not exist, and a Hugging Face job's ``model.args`` that the
trainer refuses or that ``transformers`` would silently drop. Nothing is downloaded:
``HF_HUB_OFFLINE`` and an empty ``HF_HOME`` make any attempt fail.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.badinput.conftest import Invoke


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    try:
        import huggingface_hub.constants
    except ImportError:
        return
    # The hub reads HF_HOME once, at import: an earlier test (or this machine's own cache
    # of bert-base-uncased) must not decide where these tests find configs.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))


def write_job(folder: Path, trainer: dict[str, Any]) -> Path:
    job = folder / "job.yaml"
    job.write_text(yaml.safe_dump({"name": "preflight", "trainer": trainer}))
    return job


def hf_job(folder: Path, args: dict[str, Any], name: str = "bert-base-uncased") -> Path:
    (folder / "reviews.csv").write_text("text,label\ngood,1\nbad,0\n")
    model = {"kind": "huggingface", "name": name, "args": args}
    return write_job(folder, {"model": model, "data": {"source": "text_csv", "uri": "reviews.csv"}})


def test_a_missing_data_file_is_named_at_validate_and_plan(invoke: Invoke, tmp_path: Path) -> None:
    job = write_job(tmp_path, {"data": {"source": "csv", "uri": "data/train.csv"}})
    for args in (("validate", str(job)), ("plan", str(job), "-p", "local")):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert f"trainer.data.uri: no such file or directory: {tmp_path}/data/train.csv" in (
            result.output
        )
        assert "Traceback" not in result.output
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("x,label\n1,0\n2,1\n")
    assert invoke("validate", str(job)).exit_code == 0


def test_a_file_uri_is_a_local_path_too(invoke: Invoke, tmp_path: Path) -> None:
    job = write_job(tmp_path, {"data": {"source": "npz", "uri": "file://./arrays.npz"}})
    result = invoke("validate", str(job))
    assert result.exit_code == 2
    assert "trainer.data.uri: no such file or directory" in result.output


def test_cloud_data_is_not_looked_for_here(invoke: Invoke, tmp_path: Path) -> None:
    job = write_job(tmp_path, {"data": {"source": "csv", "uri": "s3://bucket/train.csv"}})
    assert invoke("validate", str(job)).exit_code == 0


def test_an_unknown_model_arg_is_named_with_the_accepted_ones(
    invoke: Invoke, tmp_path: Path
) -> None:
    result = invoke("validate", str(hf_job(tmp_path, {"pretrianed": False})))
    assert result.exit_code == 2
    assert (
        "trainer.model.args.pretrianed: not an argument of a huggingface model (accepted: "
        "config, pretrained, revision, tokenizer); did you mean 'pretrained'?"
    ) in result.output


def test_model_args_of_the_wrong_type_are_errors(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("validate", str(hf_job(tmp_path, {"pretrained": "no", "config": 3})))
    assert result.exit_code == 2
    assert "trainer.model.args.pretrained: must be true or false (got str 'no')" in result.output
    assert "trainer.model.args.config: must be a mapping of model config settings" in result.output


def test_num_labels_belongs_to_the_trainer(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("validate", str(hf_job(tmp_path, {"config": {"num_labels": 3}})))
    assert result.exit_code == 2
    assert "trainer.model.args.config.num_labels: set by the trainer" in result.output


def test_config_settings_are_checked_against_the_models_config_class(
    invoke: Invoke, tmp_path: Path
) -> None:
    pytest.importorskip("transformers")
    typo = hf_job(tmp_path, {"config": {"hidden_dropout_prb": 0.2}})
    for args in (("validate", str(typo)), ("plan", str(typo), "-p", "local")):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert (
            "trainer.model.args.config.hidden_dropout_prb: not a setting of BertConfig (model "
            "type 'bert' from model.name 'bert-base-uncased'); did you mean 'hidden_dropout_prob'?"
        ) in result.output
        assert "hint: BertConfig settings: " in result.output
    fine = hf_job(tmp_path, {"config": {"hidden_dropout_prob": 0.2, "hidden_size": 64}})
    assert invoke("validate", str(fine)).exit_code == 0


def test_a_local_model_directory_names_its_own_model_type(invoke: Invoke, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    (tmp_path / "my-model").mkdir()
    (tmp_path / "my-model" / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    job = hf_job(tmp_path, {"config": {"n_embdd": 64}}, name="my-model")
    result = invoke("validate", str(job))
    assert result.exit_code == 2
    assert "not a setting of GPT2Config (model_type 'gpt2' of " in result.output
    assert "did you mean 'n_embd'?" in result.output
    # GPT2Config's own alias for n_embd is accepted as well.
    alias = hf_job(tmp_path, {"config": {"hidden_size": 64}}, name="my-model")
    assert invoke("validate", str(alias)).exit_code == 0


def test_an_unknown_model_is_not_guessed_and_says_so(invoke: Invoke, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    job = hf_job(tmp_path, {"config": {"anything": 1}}, name="some-org/mystery-model")
    result = invoke("validate", str(job))
    assert result.exit_code == 0, result.output
    assert "trainer.model.args.config not checked: no config for 'some-org/mystery-model'" in (
        result.output
    )


def test_without_transformers_config_settings_are_skipped_with_a_note(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # import fails as if absent
    job = hf_job(tmp_path, {"config": {"hidden_dropout_prb": 0.2}})
    result = invoke("validate", str(job))
    assert result.exit_code == 0, result.output
    assert "trainer.model.args.config not checked: transformers is not installed here" in (
        result.output
    )


def test_a_model_in_the_local_hugging_face_cache_is_checked_against_its_config(
    invoke: Invoke, tmp_path: Path
) -> None:
    pytest.importorskip("transformers")
    repo = tmp_path / "hub" / "models--some-org--mystery-model"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    config = {"model_type": "gpt2", "n_embd": 8}
    (repo / "snapshots" / commit / "config.json").write_text(json.dumps(config))
    job = hf_job(tmp_path, {"config": {"n_embdd": 64}}, name="some-org/mystery-model")
    result = invoke("validate", str(job))
    assert result.exit_code == 2, result.output
    assert (
        "not a setting of GPT2Config (the cached config of 'some-org/mystery-model'); "
        "did you mean 'n_embd'?"
    ) in result.output


def test_a_requirements_file_the_trainer_does_not_install_is_pointed_out(
    invoke: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "mydata.py").write_text("def load(): ...\n")
    job = write_job(tmp_path, {"data": {"entrypoint": "mydata:load"}})
    job.write_text(job.read_text() + "code: code\n")
    assert "requirements.txt" not in invoke("validate", str(job)).stderr
    (tmp_path / "code" / "requirements.txt").write_text("lightgbm\n")
    for args in (("validate", str(job)), ("plan", str(job), "-p", "local")):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        assert f"{job}: warning: code: requirements.txt is not installed for the built-in" in (
            result.stderr
        ), result.stderr
    custom_image = ("validate", str(job), "--set", "image=registry.example.com/mine:1")
    result = invoke(*custom_image)
    assert result.exit_code == 0, result.output
    assert "requirements.txt" not in result.stderr  # the image holds them
