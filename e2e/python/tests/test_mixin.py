"""ModelHubMixin without torch: a tiny class whose config is JSON, saved,
pushed twice and loaded back at a commit."""

import json
from pathlib import Path

import pytest
from huggingface_hub import hf_hub_download

try:
    from huggingface_hub import ModelHubMixin
except ImportError as e:
    # huggingface_hub 0.36's hub_mixin imports safetensors.torch whenever
    # safetensors is installed (transformers brings it), torch or not.
    pytest.skip(f"ModelHubMixin cannot be imported without torch here: {e}", allow_module_level=True)

from helpers import head, read_files, remote_files

RUNS = pytest.mark.parametrize("run", [1, 2])


class Tiny(ModelHubMixin, tags=["agora-e2e"]):
    def __init__(self, size: int = 3, name: str = "tiny"):
        self.size = size
        self.name = name
        self.weights = [i * size for i in range(size)]

    def _save_pretrained(self, save_directory: Path) -> None:
        (save_directory / "weights.json").write_text(json.dumps(self.weights))

    @classmethod
    def _from_pretrained(cls, *, model_id, revision, cache_dir, force_download, local_files_only, token, **kwargs):
        # 0.x passes proxies and resume_download too; the config's fields remain.
        config = {k: v for k, v in kwargs.items() if k in ("size", "name")}
        if Path(model_id).is_dir():
            weights = Path(model_id) / "weights.json"
        else:
            weights = hf_hub_download(
                model_id, "weights.json", revision=revision, cache_dir=cache_dir,
                force_download=force_download, local_files_only=local_files_only, token=token,
            )
        model = cls(**config)
        model.weights = json.loads(Path(weights).read_text())
        return model


@RUNS
def test_mixin_push_and_load(api, user, run, tmp_path):
    repo_id = f"{user}/tiny-mixin"
    model = Tiny(size=run + 2, name=f"run{run}")
    model.save_pretrained(tmp_path / "saved")
    local = read_files(tmp_path / "saved")
    assert json.loads(local["config.json"]) == {"size": run + 2, "name": f"run{run}"}

    model.push_to_hub(repo_id, commit_message=f"mixin {run}")
    sha = head(api, repo_id)
    remote = remote_files(api, repo_id, sha)
    assert remote == local
    # Pushing the same model again changes nothing.
    model.push_to_hub(repo_id)
    assert head(api, repo_id) == sha

    for revision in [None, sha, sha[:10]]:
        loaded = Tiny.from_pretrained(repo_id, revision=revision)
        assert (loaded.size, loaded.name, loaded.weights) == (model.size, model.name, model.weights)
    if run == 2:
        previous = [c.commit_id for c in api.list_repo_commits(repo_id)][1]
        old = Tiny.from_pretrained(repo_id, revision=previous)
        assert (old.size, old.name) == (3, "run1")
