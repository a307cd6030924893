"""The unmodified Python client against a pull-through mirror.

e2e/python_mirror_test.go starts an upstream Agora (alice's token in
AGORA_E2E_UPSTREAM_TOKEN) and a mirror Agora whose upstream it is;
HF_ENDPOINT is the mirror. The client's cache is keyed by repository id,
not endpoint, so whatever it reads through the mirror must carry the
upstream's identities: commit ids, ETags, file bytes.
"""

import hashlib
import json
import os
import urllib.request
from pathlib import Path

import pytest
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download, snapshot_download
from huggingface_hub.utils import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

MIRROR = os.environ["HF_ENDPOINT"].rstrip("/")
UPSTREAM = os.environ["AGORA_E2E_UPSTREAM"].rstrip("/")
TOKEN = os.environ["AGORA_E2E_UPSTREAM_TOKEN"]
STATE = Path(os.environ["AGORA_E2E_STATE"])
# Phase 2 runs with the upstream stopped (see python_mirror_test.go).
DOWN = os.environ.get("AGORA_E2E_UPSTREAM_DOWN") == "1"

up = HfApi(endpoint=UPSTREAM, token=TOKEN)
mirror = HfApi(endpoint=MIRROR, token=False)

REPO = "alice/mirrored"
FILES = {
    "README.md": b"---\nlicense: mit\n---\n# Mirrored\n",
    "config.json": b'{"model_type": "tiny"}\n',
    "weights.bin": bytes(range(256)) * 4096,  # 1 MiB, LFS by .gitattributes
    "unfetched.bin": bytes(range(255, -1, -1)) * 64,  # never read before the upstream stops
}
SKIP_UNFETCHED = ["unfetched.bin"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    if DOWN:
        return json.loads((STATE / "ids.json").read_text())
    up.create_repo(REPO, exist_ok=True)
    src = tmp_path_factory.mktemp("src")
    for name, data in FILES.items():
        (src / name).write_bytes(data)
    first = up.upload_folder(folder_path=str(src), repo_id=REPO, commit_message="v1")
    up.create_tag(REPO, tag="v1", revision=first.oid)
    up.create_branch(REPO, branch="dev", revision=first.oid)
    second = up.upload_file(path_or_fileobj=b"second\n", path_in_repo="notes.txt", repo_id=REPO, commit_message="v2")
    ids = {"v1": first.oid, "main": second.oid}
    (STATE / "ids.json").write_text(json.dumps(ids))
    return ids


online = pytest.mark.skipif(DOWN, reason="needs the upstream")
offline = pytest.mark.skipif(not DOWN, reason="runs once the upstream is stopped")


def etag(endpoint, path):
    req = urllib.request.Request(endpoint + path, method="HEAD", headers={"Accept-Encoding": "identity"})
    if endpoint == UPSTREAM:
        req.add_header("Authorization", f"Bearer {TOKEN}")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=30) as r:
            h = r.headers
    except urllib.error.HTTPError as e:
        h = e.headers
    return h.get("X-Linked-Etag") or h.get("ETag"), h.get("X-Repo-Commit")


@online
def test_info_and_refs_match_upstream(repo):
    assert mirror.model_info(REPO).sha == up.model_info(REPO).sha == repo["main"]
    assert mirror.model_info(REPO, revision="v1").sha == repo["v1"]
    refs = mirror.list_repo_refs(REPO)
    assert {b.name: b.target_commit for b in refs.branches} == {b.name: b.target_commit for b in up.list_repo_refs(REPO).branches}
    assert [c.commit_id for c in mirror.list_repo_commits(REPO)] == [c.commit_id for c in up.list_repo_commits(REPO)]


@online
def test_tree_entries_match_upstream(repo):
    def entries(api):
        return {
            e.path: (e.blob_id, e.size, e.lfs.sha256 if e.lfs else None)
            for e in api.list_repo_tree(REPO, recursive=True)
            if e.__class__.__name__ == "RepoFile"
        }

    assert entries(mirror) == entries(up)


@online
@pytest.mark.parametrize("run", [1, 2])
def test_snapshot_download_same_bytes_and_etags(repo, tmp_path, run):
    local = snapshot_download(REPO, endpoint=MIRROR, token=False, cache_dir=tmp_path / "cache", ignore_patterns=SKIP_UNFETCHED)
    got = {p.relative_to(local).as_posix(): p.read_bytes() for p in Path(local).rglob("*") if p.is_file()}
    for name, data in FILES.items():
        if name not in SKIP_UNFETCHED:
            assert got[name] == data, name
    assert got["notes.txt"] == b"second\n"
    for name in [n for n in FILES if n not in SKIP_UNFETCHED] + ["notes.txt"]:
        assert etag(MIRROR, f"/{REPO}/resolve/main/{name}") == etag(UPSTREAM, f"/{REPO}/resolve/main/{name}"), name


@pytest.mark.parametrize("rev", ["v1", "dev", "main"])
@online
def test_download_by_revision(repo, tmp_path, rev):
    path = hf_hub_download(REPO, "weights.bin", revision=rev, endpoint=MIRROR, token=False, cache_dir=tmp_path)
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == hashlib.sha256(FILES["weights.bin"]).hexdigest()
    commit = repo["v1"] if rev != "main" else repo["main"]
    path = hf_hub_download(REPO, "config.json", revision=commit, endpoint=MIRROR, token=False, cache_dir=tmp_path)
    assert Path(path).read_bytes() == FILES["config.json"]


@online
def test_ranges_through_hffs(repo):
    fs = HfFileSystem(endpoint=MIRROR, token=False)
    with fs.open(f"{REPO}/weights.bin", "rb") as f:
        f.seek(1000)
        assert f.read(300) == FILES["weights.bin"][1000:1300]


@online
def test_errors_keep_their_meaning(repo, tmp_path):
    with pytest.raises(RepositoryNotFoundError):
        mirror.model_info("alice/does-not-exist")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(REPO, "config.json", revision="no-such-branch", endpoint=MIRROR, token=False, cache_dir=tmp_path)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(REPO, "missing.txt", endpoint=MIRROR, token=False, cache_dir=tmp_path)


@offline
def test_cached_content_survives_the_upstream(repo, tmp_path):
    # Everything fetched before still downloads, at the commit id and by
    # branch (bound to its last known commit), without HF_HUB_OFFLINE.
    local = snapshot_download(REPO, revision=repo["main"], endpoint=MIRROR, token=False, cache_dir=tmp_path / "c",
                              ignore_patterns=SKIP_UNFETCHED)
    assert (Path(local) / "weights.bin").read_bytes() == FILES["weights.bin"]
    path = hf_hub_download(REPO, "config.json", endpoint=MIRROR, token=False, cache_dir=tmp_path / "d")
    assert Path(path).read_bytes() == FILES["config.json"]
    assert mirror.model_info(REPO).sha == repo["main"]


@offline
def test_uncached_content_is_unavailable_not_missing(repo, tmp_path):
    # Never a 404 that a client would cache as non-existence.
    req = urllib.request.Request(f"{MIRROR}/{REPO}/resolve/{repo['main']}/unfetched.bin")
    try:
        urllib.request.urlopen(req, timeout=60)
        raise AssertionError("uncached content was served without the upstream")
    except urllib.error.HTTPError as e:
        assert e.code in (502, 503, 504), e.code
