"""HfApi workflows, each run twice against the same repository.

Every check compares bytes and commit ids read back through other
endpoints than the one that wrote them.
"""

import json
from pathlib import Path

import pytest
from packaging.version import Version
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    hf_hub_download,
    snapshot_download,
)
from huggingface_hub.utils import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from helpers import (
    ENDPOINT,
    HUB,
    OTHER_TOKEN,
    assert_tree_ids,
    git_blob_id,
    head,
    http,
    random_bytes,
    read_files,
    remote_files,
    write_files,
)

RUNS = pytest.mark.parametrize("run", [1, 2])

CONFIG = b'{"model_type": "tiny", "hidden_size": 8}\n'
FOLDER = {
    "README.md": b"---\nlicense: mit\ntags:\n- agora-e2e\n---\n# A model\n",
    "weights.bin": random_bytes(64 << 10, "weights"),  # LFS by the Hub's .gitattributes
    "sub/a.txt": b"a\n",
    "sub/deeper/b.txt": b"b\n",
    "skip.log": b"excluded by ignore_patterns\n",
}


def commits(api, repo_id, revision="main", repo_type=None):
    return [c.commit_id for c in api.list_repo_commits(repo_id, revision=revision, repo_type=repo_type)]


def assert_new_commit(api, repo_id, info, before, revision="main"):
    """info is a fresh commit on revision whose parent is before."""
    assert info.oid != before
    assert head(api, repo_id, revision) == info.oid
    ids = commits(api, repo_id, revision)
    assert ids[0] == info.oid
    assert ids[1] == before


@RUNS
def test_create_repo_exist_ok(api, user, run):
    repo_id = f"{user}/hfapi"
    for _ in range(2):
        url = api.create_repo(repo_id, exist_ok=True)
        assert url.repo_id == repo_id
        assert url == f"{ENDPOINT}/{repo_id}"
    durl = api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    assert durl == f"{ENDPOINT}/datasets/{repo_id}"
    assert durl.repo_type == "dataset"
    with pytest.raises(HfHubHTTPError) as e:
        api.create_repo(repo_id)
    assert e.value.response.status_code == 409
    assert api.repo_exists(repo_id) and api.repo_exists(repo_id, repo_type="dataset")


@RUNS
def test_upload_file_folder_branch_pr(api, user, run, work):
    repo_id = f"{user}/hfapi"
    api.create_repo(repo_id, exist_ok=True)

    # A file; the same bytes again must be no commit at all (the client
    # compares with the oid that preupload reports).
    before = head(api, repo_id)
    info = api.upload_file(path_or_fileobj=CONFIG, path_in_repo="config.json", repo_id=repo_id)
    if run == 1:
        assert_new_commit(api, repo_id, info, before)
    else:
        assert info.oid == before, "an unchanged file made a commit"
        assert head(api, repo_id) == before

    # A folder with ignore patterns; one file changes on every run.
    folder = write_files(work / "folder", {**FOLDER, "stamp.txt": b"run %d\n" % run})
    before = head(api, repo_id)
    info = api.upload_folder(folder_path=folder, repo_id=repo_id, ignore_patterns=["*.log"])
    assert_new_commit(api, repo_id, info, before)
    expected = {**{k: v for k, v in FOLDER.items() if k != "skip.log"}, "stamp.txt": b"run %d\n" % run}
    expected["config.json"] = CONFIG
    assert remote_files(api, repo_id, "main") == expected
    assert_tree_ids(api, repo_id, "main", expected)
    changed = api.list_repo_commits(repo_id)[0]
    assert changed.title == "Upload folder using huggingface_hub"
    assert user in changed.authors

    # A branch made from main, then a commit onto it alone.
    api.create_branch(repo_id, branch="dev", exist_ok=True)
    main = head(api, repo_id)
    dev_before = head(api, repo_id, "dev")
    if run == 1:
        assert dev_before == main
    data = b"dev run %d\n" % run
    info = api.upload_file(path_or_fileobj=data, path_in_repo="dev.txt", repo_id=repo_id, revision="dev")
    assert_new_commit(api, repo_id, info, dev_before, "dev")
    assert head(api, repo_id) == main
    assert Path(hf_hub_download(repo_id, "dev.txt", revision="dev")).read_bytes() == data
    assert not api.file_exists(repo_id, "dev.txt")

    # A pull request, then a second commit onto the same refs/pr/N.
    pr_data = b"proposal %d\n" % run
    info = api.upload_file(path_or_fileobj=pr_data, path_in_repo="pr.txt", repo_id=repo_id, create_pr=True)
    assert info.pr_num == run, info
    assert info.pr_revision == f"refs/pr/{run}"
    assert info.pr_url == f"{ENDPOINT}/{repo_id}/discussions/{run}"
    pr_ref = info.pr_revision
    assert head(api, repo_id, pr_ref) == info.oid
    assert commits(api, repo_id, pr_ref)[1] == main, "a PR starts from the head of main"
    assert head(api, repo_id) == main
    pr_first = info.oid
    more = b"more %d\n" % run
    info = api.upload_file(path_or_fileobj=more, path_in_repo="pr-more.txt", repo_id=repo_id, revision=pr_ref)
    assert info.oid != pr_first
    assert head(api, repo_id, pr_ref) == info.oid
    assert commits(api, repo_id, pr_ref)[:2] == [info.oid, pr_first]
    assert Path(hf_hub_download(repo_id, "pr.txt", revision=pr_ref)).read_bytes() == pr_data
    assert Path(hf_hub_download(repo_id, "pr-more.txt", revision=pr_ref)).read_bytes() == more
    assert head(api, repo_id) == main
    refs = api.list_repo_refs(repo_id, include_pull_requests=True)
    prs = {r.ref: r.target_commit for r in refs.pull_requests}
    assert prs.get(pr_ref) == info.oid, prs
    assert len(prs) == run


@RUNS
def test_commit_deletes_folders(api, user, run):
    repo_id = f"{user}/deletions"
    api.create_repo(repo_id, exist_ok=True)
    files = {
        "keep.txt": b"keep\n",
        "dirA/x.txt": b"x\n",
        "dirA/y/z.txt": b"z\n",
        "dirB/w.txt": b"w\n",
        "dirB/v.bin": random_bytes(2048, "v"),
    }
    before = head(api, repo_id)
    info = api.create_commit(
        repo_id,
        [CommitOperationAdd(path_in_repo=p, path_or_fileobj=d) for p, d in files.items()],
        commit_message=f"add run {run}",
    )
    assert_new_commit(api, repo_id, info, before)
    kept = {"new.txt": b"new %d\n" % (run - 1)} if run > 1 else {}
    assert remote_files(api, repo_id, "main") == {**files, **kept}

    # "dirA/" is a folder deletion (deletedFolder); "dirB" without the
    # slash is sent as deletedFile, which the Hub also applies to a folder.
    before = info.oid
    info = api.create_commit(
        repo_id,
        [
            CommitOperationDelete(path_in_repo="dirA/"),
            CommitOperationDelete(path_in_repo="dirB"),
            CommitOperationAdd(path_in_repo="new.txt", path_or_fileobj=b"new %d\n" % run),
        ],
        commit_message=f"delete run {run}",
    )
    assert_new_commit(api, repo_id, info, before)
    assert remote_files(api, repo_id, "main") == {"keep.txt": b"keep\n", "new.txt": b"new %d\n" % run}
    assert not api.file_exists(repo_id, "dirB/w.txt")
    assert api.file_exists(repo_id, "dirB/w.txt", revision=before)


@RUNS
def test_tree_paths_info_refs_commits(api, user, run):
    repo_id = f"{user}/hfapi"
    main = head(api, repo_id)
    files = remote_files(api, repo_id, "main")

    root = {e.path: e for e in api.list_repo_tree(repo_id)}
    assert set(root) == {".gitattributes"} | {p.split("/")[0] for p in files}
    assert root["sub"].__class__.__name__ == "RepoFolder"
    assert root["config.json"].blob_id == git_blob_id(files["config.json"])
    sub = {e.path for e in api.list_repo_tree(repo_id, path_in_repo="sub", recursive=True)}
    assert sub == {"sub/a.txt", "sub/deeper", "sub/deeper/b.txt"}

    expanded = {e.path: e for e in api.list_repo_tree(repo_id, expand=True)}
    # stamp.txt changes on every run, in the commit now at the head of main.
    assert expanded["stamp.txt"].last_commit.oid == main

    infos = api.get_paths_info(repo_id, ["config.json", "sub", "weights.bin", "missing.txt"])
    by_path = {i.path: i for i in infos}
    assert set(by_path) == {"config.json", "sub", "weights.bin"}
    assert by_path["config.json"].blob_id == git_blob_id(files["config.json"])
    assert by_path["weights.bin"].lfs is not None
    assert by_path["weights.bin"].size == len(files["weights.bin"])
    assert by_path["sub"].tree_id == root["sub"].tree_id

    refs = api.list_repo_refs(repo_id)
    assert {b.name for b in refs.branches} >= {"main", "dev"}
    assert {b.name: b.target_commit for b in refs.branches}["main"] == main

    history = api.list_repo_commits(repo_id)
    ids = [c.commit_id for c in history]
    assert ids[0] == main
    assert len(set(ids)) == len(ids)
    first = history[-1]
    assert first.title == "initial commit"
    assert user in first.authors, "the initial commit is the creator's"
    assert all(user in c.authors for c in history)
    # The same history through the raw endpoint's count header.
    status, headers, _ = http("GET", f"/api/models/{repo_id}/commits/main?limit=1")
    assert status == 200
    assert int(headers["X-Total-Count"]) == len(ids)


@RUNS
def test_download_at_revisions(api, user, run, tmp_path):
    repo_id = f"{user}/hfapi"
    main = head(api, repo_id)
    # The tag is made once and must keep pointing at the commit it was
    # made on: run 2's create_tag(exist_ok=True) must not move it.
    api.create_tag(repo_id, tag="v1", revision=main if run == 1 else None, exist_ok=True)
    tagged = head(api, repo_id, "v1")
    if run == 1:
        assert tagged == main
    tag_files = remote_files(api, repo_id, tagged)
    dev = head(api, repo_id, "dev")

    for revision, sha in [("main", main), ("v1", tagged), ("dev", dev), (main, main), (main[:7], main), (tagged[:12], tagged)]:
        path = Path(hf_hub_download(repo_id, "config.json", revision=revision))
        assert path.read_bytes() == CONFIG, revision
        assert path.parent.name == sha, f"{revision} resolved to {path.parent.name}, not {sha}"
        snap = Path(snapshot_download(repo_id, revision=revision))
        assert snap.name == sha, revision
        got = read_files(snap)
        got.pop(".gitattributes", None)
        assert got == remote_files(api, repo_id, sha), revision
        if revision == "v1":
            assert got == tag_files

    # local_dir with include patterns: exactly the matching files.
    out = tmp_path / "local"
    snapshot_download(repo_id, revision="main", local_dir=out, allow_patterns=["sub/*", "*.json"])
    assert read_files(out) == {
        "config.json": CONFIG,
        "sub/a.txt": FOLDER["sub/a.txt"],
        "sub/deeper/b.txt": FOLDER["sub/deeper/b.txt"],
    }

    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "missing.txt")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo_id, "config.json", revision="no-such-branch")


@RUNS
def test_exists_on_missing_ids(api, user, run):
    repo_id = f"{user}/hfapi"
    assert api.repo_exists(repo_id)
    assert not api.repo_exists(f"{user}/no-such-repo")
    assert api.file_exists(repo_id, "config.json")
    assert not api.file_exists(repo_id, "no-such-file")
    assert not api.file_exists(repo_id, "config.json", revision="no-such-branch")
    assert api.revision_exists(repo_id, "main")
    assert api.revision_exists(repo_id, "v1")
    assert not api.revision_exists(repo_id, "no-such-branch")
    # Ids without a namespace are canonical Hub models ("gpt2"); here they
    # are simply missing repositories.
    for bare in ["gpt2", "bert-base-uncased"]:
        assert not api.repo_exists(bare)
        assert not api.repo_exists(bare, repo_type="dataset")
        assert not api.file_exists(bare, "config.json")
        assert not api.revision_exists(bare, "main")
        with pytest.raises(RepositoryNotFoundError) as e:
            api.model_info(bare)
        assert e.value.server_message == "Repository not found"
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download(bare, "config.json")
    # The Hub's own words, which the client shows to the user.
    with pytest.raises(RevisionNotFoundError) as e:
        api.list_repo_files(repo_id, revision="no-such-branch")
    assert e.value.server_message == "Invalid rev id: no-such-branch"
    with pytest.raises(EntryNotFoundError) as e:
        list(api.list_repo_tree(repo_id, path_in_repo="no-such-dir"))
    assert e.value.server_message.startswith("Entry not found"), e.value.server_message


@RUNS
def test_branches_and_tags(api, user, run):
    repo_id = f"{user}/hfapi"
    main = head(api, repo_id)
    api.create_branch(repo_id, branch="topic/feature", revision=main)
    assert head(api, repo_id, "topic/feature") == main
    with pytest.raises(HfHubHTTPError) as e:
        api.create_branch(repo_id, branch="topic/feature")
    assert e.value.response.status_code == 409
    api.create_branch(repo_id, branch="topic/feature", exist_ok=True)

    # A tag on a branch other than main, annotated.
    dev = head(api, repo_id, "dev")
    dev_txt = remote_files(api, repo_id, "dev")["dev.txt"]
    api.create_tag(repo_id, tag="release", revision="dev", tag_message=f"release {run}")
    refs = api.list_repo_refs(repo_id)
    assert {t.name: t.target_commit for t in refs.tags}["release"] == dev
    assert Path(hf_hub_download(repo_id, "dev.txt", revision="release")).read_bytes() == dev_txt
    with pytest.raises(HfHubHTTPError) as e:
        api.create_tag(repo_id, tag="release", revision="main")
    assert e.value.response.status_code == 409
    assert head(api, repo_id, "release") == dev

    api.delete_tag(repo_id, tag="release")
    api.delete_branch(repo_id, branch="topic/feature")
    refs = api.list_repo_refs(repo_id)
    assert "release" not in {t.name for t in refs.tags}
    assert "topic/feature" not in {b.name for b in refs.branches}
    assert not api.revision_exists(repo_id, "release")
    assert not api.revision_exists(repo_id, "topic/feature")
    assert head(api, repo_id) == main


@RUNS
def test_super_squash_history(api, user, run):
    repo_id = f"{user}/squash"
    api.create_repo(repo_id, exist_ok=True)
    for i in range(3):
        api.upload_file(path_or_fileobj=b"%d.%d\n" % (run, i), path_in_repo=f"f{i}.txt", repo_id=repo_id)
    before = head(api, repo_id)
    files = remote_files(api, repo_id, before)
    tree = {e.path: e.blob_id for e in api.list_repo_tree(repo_id, recursive=True)}
    assert len(commits(api, repo_id)) >= 4

    api.super_squash_history(repo_id, commit_message=f"squash {run}")
    after = head(api, repo_id)
    history = api.list_repo_commits(repo_id)
    assert [c.commit_id for c in history] == [after]
    assert history[0].title == f"squash {run}"
    assert remote_files(api, repo_id, "main") == files
    assert {e.path: e.blob_id for e in api.list_repo_tree(repo_id, recursive=True)} == tree


@RUNS
def test_move_repo_and_back(api, user, run):
    a, b = f"{user}/mover", f"{user}/moved"
    api.create_repo(a, exist_ok=True)
    api.upload_file(path_or_fileobj=b"move %d\n" % run, path_in_repo="m.txt", repo_id=a)
    sha = head(api, a)

    api.move_repo(a, b)
    assert api.repo_exists(b)
    assert head(api, b) == sha
    assert Path(hf_hub_download(b, "m.txt")).read_bytes() == b"move %d\n" % run
    # The old name redirects to the new one.
    assert api.model_info(a).id == b
    assert Path(hf_hub_download(a, "m.txt", force_download=True)).read_bytes() == b"move %d\n" % run

    api.move_repo(b, a)
    assert api.model_info(a).id == a
    assert head(api, a) == sha
    assert api.model_info(b).id == a  # b is now the old name


@RUNS
def test_private_setting(api, user, run, tmp_path):
    repo_id = f"{user}/private-toggle"
    api.create_repo(repo_id, exist_ok=True)
    api.upload_file(path_or_fileobj=b"secret\n", path_in_repo="s.txt", repo_id=repo_id)

    api.update_repo_settings(repo_id, private=True)
    assert api.model_info(repo_id).private is True
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(repo_id, token=False)
    # A cache of its own: the client serves a cached copy when the Hub says no.
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(repo_id, "s.txt", token=False, cache_dir=tmp_path)
    if OTHER_TOKEN:
        with pytest.raises(RepositoryNotFoundError):
            api.model_info(repo_id, token=OTHER_TOKEN)
    assert not api.repo_exists(repo_id, token=False)

    api.update_repo_settings(repo_id, private=False)
    assert api.model_info(repo_id, token=False).private is False
    assert Path(hf_hub_download(repo_id, "s.txt", token=False, force_download=True)).read_bytes() == b"secret\n"


@RUNS
@pytest.mark.skipif(HUB.major >= 2, reason="upload_large_folder was removed in huggingface_hub 2.0")
def test_upload_large_folder_into_existing_repo(api, user, run, work):
    repo_id = f"{user}/large"
    api.create_repo(repo_id, exist_ok=True)
    api.upload_file(path_or_fileobj=b"already there\n", path_in_repo="existing.txt", repo_id=repo_id)
    files = {f"shard/{i:02d}.txt": b"shard %d\n" % i for i in range(24)}
    files["blob.bin"] = random_bytes(256 << 10, "large")
    files["stamp.txt"] = b"large run %d\n" % run
    folder = write_files(work / "large", files)
    before = head(api, repo_id)
    api.upload_large_folder(repo_id, folder, repo_type="model", num_workers=2, print_report=False)
    after = head(api, repo_id)
    assert after != before
    assert remote_files(api, repo_id, "main") == {**files, "existing.txt": b"already there\n"}
    assert_tree_ids(api, repo_id, "main", files)


@RUNS
@pytest.mark.skipif(HUB >= Version("1.0"), reason="the client refuses '..' segments itself from 1.0")
def test_invalid_path_is_refused(api, user, run):
    # 0.36 lets "a/../b" through; the Hub refuses it with 422 and commits
    # nothing.
    repo_id = f"{user}/hfapi"
    before = head(api, repo_id)
    with pytest.raises(HfHubHTTPError) as e:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="sub/../escape.txt", repo_id=repo_id)
    assert e.value.response.status_code == 422, e.value
    assert head(api, repo_id) == before


CARD = """---
license: apache-2.0
tags:
- agora-e2e
---
# Card run {run}
"""


@RUNS
@pytest.mark.skipif(
    HUB < Version("2.0"),
    reason="before 2.0, RepoCard.validate posts to https://huggingface.co/api/validate-yaml whatever HF_ENDPOINT says",
)
def test_cards_validated_by_the_hub(api, user, run):
    from huggingface_hub import ModelCard, metadata_update

    repo_id = f"{user}/carded"
    api.create_repo(repo_id, exist_ok=True)
    card = ModelCard(CARD.format(run=run))
    card.validate()  # POST /api/validate-yaml
    card.push_to_hub(repo_id, commit_message=f"card {run}")
    assert Path(hf_hub_download(repo_id, "README.md")).read_text() == CARD.format(run=run)
    metadata_update(repo_id, {"tags": ["agora-e2e", f"run-{run}"]}, overwrite=True)
    info = api.model_info(repo_id)
    assert info.card_data.tags == ["agora-e2e", f"run-{run}"]
    assert info.card_data.license == "apache-2.0"
    assert {"agora-e2e", f"run-{run}"} <= set(info.tags)

    bad = ModelCard("---\nlicense: not-a-license\n---\n# bad\n")
    with pytest.raises(ValueError) as e:
        bad.validate()
    assert '"license" must be one of' in str(e.value)


def test_tag_vocabulary(api):
    # get_model_tags / get_dataset_tags: the filters a client can offer.
    models = api.get_model_tags()
    assert any(t["id"] == "text-generation" and t["type"] == "pipeline_tag" for t in models["pipeline_tag"]), models
    datasets = api.get_dataset_tags()
    assert "format:parquet" in [t["id"] for t in datasets["format"]], datasets


def test_sharded_safetensors_metadata(api, user):
    # Two shards and their index, read shard by shard (every version) and,
    # from 2.x, in one request: both give the same tensors.
    np = pytest.importorskip("numpy")
    from safetensors.numpy import save

    repo_id = f"{user}/sharded"
    api.create_repo(repo_id, exist_ok=True)
    shards = {
        "model-00001-of-00002.safetensors": save({"a": np.zeros((2, 3), dtype=np.float32)}, metadata={"format": "pt"}),
        "model-00002-of-00002.safetensors": save({"b": np.ones((4,), dtype=np.int64)}, metadata={"format": "pt"}),
    }
    index = {"metadata": {"total_size": 56}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    ops = [CommitOperationAdd(path_in_repo=k, path_or_fileobj=v) for k, v in shards.items()]
    ops.append(CommitOperationAdd(path_in_repo="model.safetensors.index.json", path_or_fileobj=json.dumps(index).encode()))
    api.create_commit(repo_id, ops, commit_message="shards")
    each = api.get_safetensors_metadata(repo_id)
    assert each.sharded and each.weight_map == index["weight_map"], each
    if hasattr(api, "get_sharded_safetensors_metadata"):
        one = api.get_sharded_safetensors_metadata(repo_id)
        assert one.weight_map == each.weight_map and one.metadata == each.metadata == index["metadata"], one
        assert one.files_metadata == each.files_metadata, (one, each)
