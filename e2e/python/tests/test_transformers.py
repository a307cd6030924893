"""transformers without torch: a tiny config and a tokenizer built here,
pushed twice, then loaded back at a commit, a branch and refs/pr/N."""

import pytest

transformers = pytest.importorskip("transformers")

from pathlib import Path  # noqa: E402

from tokenizers import Tokenizer, models, pre_tokenizers  # noqa: E402
from transformers import AutoConfig, AutoTokenizer, BertConfig, PreTrainedTokenizerFast  # noqa: E402

from helpers import head, read_files, remote_files  # noqa: E402

RUNS = pytest.mark.parametrize("run", [1, 2])
WORDS = ["hello", "world", "agora", "hub", "run"]
SPECIAL = {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]"}


def tiny_config(run: int, **extra) -> BertConfig:
    return BertConfig(
        vocab_size=len(SPECIAL) + len(WORDS),
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=16 * run,  # differs between runs
        **extra,
    )


def tiny_tokenizer(run: int) -> PreTrainedTokenizerFast:
    vocab = {t: i for i, t in enumerate(list(SPECIAL.values()) + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=16 * run, **SPECIAL)


def saved(obj, folder: Path) -> dict:
    """What save_pretrained writes: the bytes push_to_hub must have uploaded."""
    obj.save_pretrained(folder)
    return read_files(folder)


def new_pr(api, repo_id, before: set) -> str:
    prs = {r.ref for r in api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests}
    (ref,) = prs - before
    return ref


@RUNS
def test_push_and_load_config_tokenizer(api, user, run, tmp_path):
    repo_id = f"{user}/tiny-bert"
    config, tokenizer = tiny_config(run), tiny_tokenizer(run)
    config.push_to_hub(repo_id, commit_message=f"config {run}")
    tokenizer.push_to_hub(repo_id, commit_message=f"tokenizer {run}")
    sha = head(api, repo_id)
    assert [c.title for c in api.list_repo_commits(repo_id)][:2] == [f"tokenizer {run}", f"config {run}"]

    expected = {**saved(config, tmp_path / "config"), **saved(tokenizer, tmp_path / "tok")}
    remote = remote_files(api, repo_id, sha)
    for name, data in expected.items():
        assert remote.get(name) == data, name

    # A push of unchanged files is no commit.
    config.push_to_hub(repo_id)
    assert head(api, repo_id) == sha

    for revision in ["main", sha, sha[:7]]:
        loaded = AutoConfig.from_pretrained(repo_id, revision=revision)
        want = AutoConfig.from_pretrained(tmp_path / "config").to_dict()
        got = loaded.to_dict()
        assert got.pop("_name_or_path") == repo_id
        want.pop("_name_or_path")
        assert got == want, revision
        assert loaded.max_position_embeddings == 16 * run
        tok = AutoTokenizer.from_pretrained(repo_id, revision=revision)
        assert tok.get_vocab() == tokenizer.get_vocab()
        assert tok("hello agora hub")["input_ids"] == tokenizer("hello agora hub")["input_ids"]
        assert tok.model_max_length == 16 * run

    # Run 1's commit, still there after run 2's pushes.
    if run == 2:
        first = {c.title: c.commit_id for c in api.list_repo_commits(repo_id)}["tokenizer 1"]
        assert AutoConfig.from_pretrained(repo_id, revision=first).max_position_embeddings == 16


@RUNS
def test_push_to_pr_and_load(api, user, run, tmp_path):
    repo_id = f"{user}/tiny-bert"
    main = head(api, repo_id)
    before = {r.ref for r in api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests}
    proposal = tiny_config(1, agora_note=f"proposal {run}")
    proposal.push_to_hub(repo_id, create_pr=True, commit_message=f"proposal {run}")
    pr_ref = new_pr(api, repo_id, before)
    assert pr_ref == f"refs/pr/{len(before) + 1}"
    assert head(api, repo_id) == main

    assert AutoConfig.from_pretrained(repo_id, revision=pr_ref).agora_note == f"proposal {run}"
    assert not hasattr(AutoConfig.from_pretrained(repo_id, revision="main"), "agora_note")
    # A second push onto the same pull request.
    tokenizer = tiny_tokenizer(3)
    tokenizer.push_to_hub(repo_id, revision=pr_ref, commit_message=f"tokenizer onto {pr_ref}")
    assert AutoTokenizer.from_pretrained(repo_id, revision=pr_ref).model_max_length == 48
    assert AutoConfig.from_pretrained(repo_id, revision=pr_ref).agora_note == f"proposal {run}"
    assert head(api, repo_id) == main
