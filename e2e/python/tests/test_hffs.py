"""HfFileSystem: pandas reading hf:// paths, listing, and writes onto main
and onto refs/pr/N."""

import io

import pandas as pd
import pytest
from huggingface_hub import CommitOperationAdd, HfFileSystem, hf_hub_download

from helpers import git_blob_id, head

RUNS = pytest.mark.parametrize("run", [1, 2])


def table(run: int) -> pd.DataFrame:
    return pd.DataFrame({"name": [f"r{run}-{i}" for i in range(10)], "value": [run * i for i in range(10)]})


@RUNS
def test_pandas_and_hffs(api, user, run):
    repo_id = f"{user}/fs-data"
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    df = table(run)
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    api.upload_file(path_or_fileobj=buf.getvalue(), path_in_repo="data/t.parquet", repo_id=repo_id, repo_type="dataset")
    sha = head(api, repo_id, repo_type="dataset")

    # A file system of its own each run, as a new process would have (the
    # shared instance's listing cache duplicates entries after a glob in
    # 0.36, a client bug); pandas below goes through the shared one.
    fs = HfFileSystem(skip_instance_cache=True)
    root = f"datasets/{repo_id}"
    assert pd.read_parquet(f"hf://{root}/data/t.parquet").equals(df)
    assert pd.read_parquet(f"hf://{root}@{sha}/data/t.parquet").equals(df)
    assert fs.ls(f"{root}/data", detail=False) == [f"{root}/data/t.parquet"]
    assert fs.glob(f"{root}/**/*.parquet") == [f"{root}/data/t.parquet"]
    info = fs.info(f"{root}/data/t.parquet")
    assert info["size"] == len(buf.getvalue())
    assert fs.cat_file(f"{root}/data/t.parquet") == buf.getvalue()
    assert fs.resolve_path(f"{root}/data/t.parquet").revision in ("main", None)

    # Writes through the file system: a CSV with pandas, bytes with open().
    csv = f"hf://{root}/out/t.csv"
    df.to_csv(csv, index=False)
    assert pd.read_csv(csv).equals(df)
    with fs.open(f"{root}/out/raw.txt", "wb") as f:
        f.write(b"raw %d\n" % run)
    assert fs.read_bytes(f"{root}/out/raw.txt") == b"raw %d\n" % run
    entries = {e.path: e for e in api.list_repo_tree(repo_id, path_in_repo="out", repo_type="dataset")}
    assert entries["out/raw.txt"].blob_id == git_blob_id(b"raw %d\n" % run)
    fs.rm(f"{root}/out/raw.txt")
    assert not api.file_exists(repo_id, "out/raw.txt", repo_type="dataset")


@RUNS
def test_hffs_write_to_pr(api, user, run):
    repo_id = f"{user}/fs-data"
    main = head(api, repo_id, repo_type="dataset")
    info = api.create_commit(
        repo_id,
        [CommitOperationAdd("proposal.txt", b"proposal %d\n" % run)],
        commit_message="open a PR",
        repo_type="dataset",
        create_pr=True,
    )
    pr_ref = info.pr_revision
    assert pr_ref and pr_ref.startswith("refs/pr/")
    fs = HfFileSystem(skip_instance_cache=True)
    path = f"datasets/{repo_id}@{pr_ref}/from-fs.txt"
    with fs.open(path, "wb") as f:
        f.write(b"written at %s\n" % pr_ref.encode())
    assert fs.read_bytes(path) == b"written at %s\n" % pr_ref.encode()
    local = hf_hub_download(repo_id, "from-fs.txt", repo_type="dataset", revision=pr_ref)
    assert open(local, "rb").read() == b"written at %s\n" % pr_ref.encode()
    assert sorted(fs.ls(f"datasets/{repo_id}@{pr_ref}", detail=False))[:2] == [
        f"datasets/{repo_id}@{pr_ref}/.gitattributes",
        f"datasets/{repo_id}@{pr_ref}/data",
    ]
    assert head(api, repo_id, repo_type="dataset") == main
    assert not api.file_exists(repo_id, "from-fs.txt", repo_type="dataset")
