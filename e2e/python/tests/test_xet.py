"""Xet storage with the real hf_xet: what a user gets with Xet left on.

huggingface_hub ≥ 1.20 with hf_xet uploads only through Xet; 0.36–1.19
negotiate it through the LFS batch API and read the token from headers;
hf_xet's release decides the CAS routes (1.1.9: /xorb, /shard,
/reconstruction; 1.8: /v1/xorbs, /v2/shards, /v2/reconstructions). Each
test checks the bytes and that the CAS was used (or not), from the
server's request counters.

These tests need Xet on: e2e/python_xet_test.go runs them with
AGORA_E2E_XET=1 (and HF_HUB_DISABLE_XET unset); the other Python
workflows run with Xet off and skip this file.
"""

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from huggingface_hub import hf_hub_download, snapshot_download

from helpers import ENDPOINT, HUB, TOKEN, head, http, random_bytes, read_files, sha256, write_files

pytestmark = pytest.mark.skipif(
    os.environ.get("AGORA_E2E_XET") != "1" or os.environ.get("HF_HUB_DISABLE_XET"),
    reason="Xet tests run from e2e/python_xet_test.go with Xet on",
)

BIN = Path(sys.executable).parent
XORBS = os.environ.get("AGORA_E2E_XORBS_DIR", "")  # the hub's xorb store, to measure what was sent


def counters() -> dict:
    """The server's request counts by route and status, for CAS and LFS routes."""
    with urllib.request.urlopen(ENDPOINT + "/metrics", timeout=30) as r:
        text = r.read().decode()
    out = {}
    for m in re.finditer(r'^agora_http_requests_total\{code="(\d+)",method="\w+",route="((?:cas|lfs)-[\w-]+)"\} (\d+)', text, re.M):
        key = f"{m[2]} {m[1]}"
        out[key] = out.get(key, 0) + int(m[3])
    return out


def used(before: dict, after: dict, route: str) -> int:
    """Successful requests to route (any 2xx) between two counter reads."""
    return sum(after.get(k, 0) - before.get(k, 0) for k in after if k.startswith(route + " 2"))


def xorb_bytes() -> int:
    if not XORBS:
        pytest.skip("AGORA_E2E_XORBS_DIR is not set")
    return sum(p.stat().st_size for p in Path(XORBS).rglob("*") if p.is_file())


def xet_hash(repo_id: str, path: str, revision: str = "main") -> str:
    """The xetHash that paths-info reports for path (empty if none)."""
    status, _, body = http("POST", f"/api/models/{repo_id}/paths-info/{revision}", body={"paths": [path]})
    assert status == 200, body
    (entry,) = json.loads(body)
    return entry.get("xetHash", "")


@pytest.fixture(scope="module")
def repo(api, user):
    repo_id = f"{user}/xet-{HUB}".replace("+", "-")
    api.create_repo(repo_id, exist_ok=True)
    return repo_id


def test_upload_file_goes_through_xet(api, repo, tmp_path):
    data = random_bytes(12 << 20, "xet-upload-file")
    src = write_files(tmp_path, {"model.bin": data}) / "model.bin"
    before = counters()
    info = api.upload_file(path_or_fileobj=str(src), path_in_repo="model.bin", repo_id=repo)
    after = counters()
    assert used(before, after, "cas-xorb-upload") >= 1, after
    assert used(before, after, "cas-shard-v1") + used(before, after, "cas-shard-v2") >= 1, after
    assert used(before, after, "lfs-upload") == 0 and used(before, after, "lfs-complete") == 0, after
    assert head(api, repo) == info.oid
    # Committed as the usual LFS pointer, announced as a Xet file.
    (entry,) = api.get_paths_info(repo, ["model.bin"])
    assert entry.lfs.sha256 == sha256(data) and entry.size == len(data)
    assert re.fullmatch(r"[0-9a-f]{64}", xet_hash(repo, "model.bin"))


def test_upload_folder_and_cli(api, repo, tmp_path):
    files = {
        "weights/a.safetensors": random_bytes(11 << 20, "xet-a"),
        "weights/b.bin": random_bytes(3 << 20, "xet-b"),
        "config.json": b'{"model_type": "tiny"}\n',
    }
    folder = write_files(tmp_path / "folder", files)
    before = counters()
    api.upload_folder(folder_path=str(folder), repo_id=repo, commit_message="folder")
    assert used(before, counters(), "cas-shard-v1") + used(before, counters(), "cas-shard-v2") >= 1
    got = read_files(snapshot_download(repo, allow_patterns=["weights/*", "config.json"], cache_dir=tmp_path / "snap"))
    assert got == files

    # The command line uploads through Xet too.
    cli_data = random_bytes(2 << 20, "xet-cli")
    src = write_files(tmp_path / "cli", {"cli.bin": cli_data}) / "cli.bin"
    prog = "hf" if (BIN / "hf").exists() else "huggingface-cli"
    before = counters()
    p = subprocess.run([str(BIN / prog), "upload", repo, str(src), "cli.bin"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert used(before, counters(), "cas-xorb-upload") >= 1
    assert Path(hf_hub_download(repo, "cli.bin", cache_dir=tmp_path / "c")).read_bytes() == cli_data


def test_download_through_xet(api, repo, tmp_path):
    data = random_bytes(12 << 20, "xet-upload-file")
    before = counters()
    local = hf_hub_download(repo, "model.bin", cache_dir=tmp_path / "one")
    assert Path(local).read_bytes() == data
    snap = snapshot_download(repo, allow_patterns=["model.bin"], cache_dir=tmp_path / "snap")
    assert (Path(snap) / "model.bin").read_bytes() == data
    after = counters()
    recon = used(before, after, "cas-reconstruction-v1") + used(before, after, "cas-reconstruction-v2")
    assert recon >= 2, after
    if XORBS:
        # On the files store the hub serves xorb ranges itself (on S3 they
        # come from presigned URLs); hf_xet may answer the second download
        # from its chunk cache.
        assert used(before, after, "cas-xorb-data") >= 1, after


def test_download_with_xet_disabled(api, repo, tmp_path):
    """The same file with HF_HUB_DISABLE_XET=1: plain resolve, streamed by
    reconstructing the file on the server."""
    data = random_bytes(12 << 20, "xet-upload-file")
    code = (
        "import sys; from huggingface_hub import hf_hub_download; "
        f"print(hf_hub_download({repo!r}, 'model.bin', cache_dir=sys.argv[1]))"
    )
    env = dict(os.environ, HF_HUB_DISABLE_XET="1")
    before = counters()
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path / "plain")], env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert Path(p.stdout.strip().splitlines()[-1]).read_bytes() == data
    after = counters()
    assert used(before, after, "cas-reconstruction-v1") + used(before, after, "cas-reconstruction-v2") == 0, after
    # And ranges of it, as a resumed download asks.
    req = urllib.request.Request(ENDPOINT + f"/{repo}/resolve/main/model.bin", headers={"Authorization": f"Bearer {TOKEN}", "Range": "bytes=5000000-5999999"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 206
        assert r.read() == data[5_000_000:6_000_000]


def test_create_pr(api, repo, tmp_path):
    data = random_bytes(5 << 20, "xet-pr")
    # From a file: bytes objects stay on the LFS path in every version.
    src = write_files(tmp_path, {"pr.bin": data}) / "pr.bin"
    before = counters()
    info = api.upload_file(path_or_fileobj=str(src), path_in_repo="pr.bin", repo_id=repo, create_pr=True)
    assert info.pr_num is not None
    assert used(before, counters(), "cas-xorb-upload") >= 1
    rev = f"refs/pr/{info.pr_num}"
    assert Path(hf_hub_download(repo, "pr.bin", revision=rev, cache_dir=tmp_path / "c")).read_bytes() == data
    assert "pr.bin" not in api.list_repo_files(repo)


def test_second_version_sends_little(api, repo, tmp_path):
    v1 = random_bytes(24 << 20, "xet-versions")
    v2 = bytearray(v1)
    v2[9_000_000 : 9_000_000 + 65536] = random_bytes(65536, "xet-change")
    v2 = bytes(v2)
    src = tmp_path / "v.bin"
    src.write_bytes(v1)
    api.upload_file(path_or_fileobj=str(src), path_in_repo="v.bin", repo_id=repo)
    stored = xorb_bytes()
    src.write_bytes(v2)
    api.upload_file(path_or_fileobj=str(src), path_in_repo="v.bin", repo_id=repo)
    added = xorb_bytes() - stored
    assert added < len(v2) // 10, f"second version stored {added} new bytes of {len(v2)}"
    assert Path(hf_hub_download(repo, "v.bin", cache_dir=tmp_path / "c")).read_bytes() == v2


def test_xet_enabled_in_repo_info(repo):
    """huggingface_hub 0.30–0.35 upload through Xet when repo info says so."""
    status, _, body = http("GET", f"/api/models/{repo}/revision/main?expand=xetEnabled")
    assert status == 200 and json.loads(body).get("xetEnabled") is True, body
