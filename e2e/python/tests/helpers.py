"""What the workflow tests share: the hub under test, byte and id checks.

The tests run against the hub in HF_ENDPOINT with the token in HF_TOKEN, as
a user would have them set; e2e/python_test.go starts one hub per
environment and passes them in.
"""

import hashlib
import json
import os
import random
import urllib.error
import urllib.request
from pathlib import Path

import huggingface_hub
from huggingface_hub import HfApi
from packaging.version import Version

HUB = Version(huggingface_hub.__version__)
ENDPOINT = os.environ["HF_ENDPOINT"].rstrip("/")
TOKEN = os.environ["HF_TOKEN"]
OTHER_TOKEN = os.environ.get("AGORA_E2E_TOKEN_BOB", "")

# A git commit id, full or abbreviated.
HEX = set("0123456789abcdef")


def git_blob_id(data: bytes) -> str:
    """The git object id of a blob, as the Hub reports it for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    """The git-lfs pointer file that stands for data in git."""
    return b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (
        sha256(data).encode(),
        len(data),
    )


def random_bytes(n: int, seed: str) -> bytes:
    # Seeded, so each run uploads the same bytes and checks are repeatable.
    return random.Random(seed).randbytes(n)


def write_files(root: Path, files: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def read_files(root: Path) -> dict:
    """Every file under root by relative path, without the clients' .cache."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith(".cache/"):
            out[rel] = p.read_bytes()
    return out


def http(method: str, path: str, token: str | None = TOKEN, body=None):
    """A raw request, for what no client call shows (redirects, headers).

    Returns (status, headers, body bytes) and never raises on HTTP errors.
    """
    data = None
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(ENDPOINT + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def head(api: HfApi, repo_id: str, revision: str = "main", repo_type: str | None = None) -> str:
    """The commit a revision points at, read back through two endpoints
    that must agree: repo info at the revision and the list of refs."""
    sha = api.repo_info(repo_id, repo_type=repo_type, revision=revision).sha
    assert sha and len(sha) == 40 and set(sha) <= HEX, sha
    if not revision.startswith("refs/pr/") and len(revision) != 40:
        refs = api.list_repo_refs(repo_id, repo_type=repo_type, include_pull_requests=True)
        by_name = {r.name: r.target_commit for r in refs.branches + refs.tags}
        by_ref = {r.ref: r.target_commit for r in refs.branches + refs.tags}
        assert by_name.get(revision, by_ref.get(revision)) == sha, (revision, sha, refs)
    return sha


def remote_files(api: HfApi, repo_id: str, revision: str, repo_type: str | None = None) -> dict:
    """Every file of a revision, downloaded, by path (without .gitattributes)."""
    out = {}
    for path in api.list_repo_files(repo_id, revision=revision, repo_type=repo_type):
        if path == ".gitattributes":
            continue
        local = huggingface_hub.hf_hub_download(repo_id, path, revision=revision, repo_type=repo_type)
        out[path] = Path(local).read_bytes()
    return out


def assert_tree_ids(api: HfApi, repo_id: str, revision: str, files: dict, repo_type: str | None = None):
    """The tree listing names each file with the ids its bytes imply: the
    git blob id, and for LFS files the SHA-256 and size of the content."""
    entries = {
        e.path: e
        for e in api.list_repo_tree(repo_id, revision=revision, recursive=True, repo_type=repo_type)
        if e.__class__.__name__ == "RepoFile"
    }
    for path, data in files.items():
        assert path in entries, (path, sorted(entries))
        e = entries[path]
        assert e.size == len(data), (path, e.size, len(data))
        if e.lfs is not None:
            assert e.lfs.sha256 == sha256(data), path
            assert e.lfs.size == len(data), path
            assert e.blob_id == git_blob_id(lfs_pointer(data)), path
        else:
            assert e.blob_id == git_blob_id(data), path
