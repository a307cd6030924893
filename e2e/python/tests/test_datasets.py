"""datasets: push_to_hub twice, load_dataset (cached and streaming), and a
dataset repository of parquet and CSV files uploaded with HfApi."""

import io

import pytest

datasets = pytest.importorskip("datasets")

import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from datasets import Dataset, load_dataset  # noqa: E402
from huggingface_hub import CommitOperationAdd, hf_hub_download  # noqa: E402

from helpers import head  # noqa: E402

RUNS = pytest.mark.parametrize("run", [1, 2])


def rows(run: int, n: int = 20) -> dict:
    return {"id": list(range(n)), "text": [f"run {run} row {i}" for i in range(n)], "score": [i / 4 for i in range(n)]}


@RUNS
def test_push_to_hub_and_load(api, user, run):
    repo_id = f"{user}/pushed"
    data = rows(run)
    Dataset.from_dict(data).push_to_hub(repo_id, commit_message=f"push {run}")
    sha = head(api, repo_id, repo_type="dataset")
    assert api.list_repo_commits(repo_id, repo_type="dataset")[0].title == f"push {run}"

    files = api.list_repo_files(repo_id, repo_type="dataset")
    shards = [f for f in files if f.endswith(".parquet")]
    assert shards == ["data/train-00000-of-00001.parquet"], files
    assert "README.md" in files
    raw = hf_hub_download(repo_id, shards[0], repo_type="dataset", revision=sha)
    assert pq.read_table(raw).to_pydict() == data

    # The second run's load must see the second run's rows, not a cache.
    ds = load_dataset(repo_id, split="train")
    assert ds.to_dict() == data
    streamed = list(load_dataset(repo_id, split="train", streaming=True))
    assert streamed == [dict(zip(data, values)) for values in zip(*data.values())]
    at_sha = load_dataset(repo_id, split="train", revision=sha)
    assert at_sha.to_dict() == data

    # The tags the Hub derives from the card push_to_hub wrote and from
    # the files, and a listing filtered by one of them.
    tags = api.dataset_info(repo_id).tags
    for t in ("format:parquet", "modality:text", "modality:tabular", "size_categories:n<1K", "library:datasets"):
        assert t in tags, tags
    listed = api.list_datasets(author=user, filter="format:parquet")
    assert repo_id in [d.id for d in listed]


PARQUET_CARD = b"""---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
  - split: test
    path: data/test-*.parquet
---
# Parquet
"""


def frame(run: int, split: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({"k": [f"{split}-{run}-{i}" for i in range(n)], "v": [run * 100 + i for i in range(n)]})


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


@RUNS
def test_parquet_and_csv_repos(api, user, run):
    # datasets picks one builder per repository, so a format per repository.
    train, test, table = frame(run, "train", 12), frame(run, "test", 5), frame(run, "csv", 7)
    pq_repo, csv_repo = f"{user}/tabular-parquet", f"{user}/tabular-csv"
    for repo_id in (pq_repo, csv_repo):
        api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    api.create_commit(
        pq_repo,
        [
            CommitOperationAdd("README.md", PARQUET_CARD),
            CommitOperationAdd("data/train-00000.parquet", parquet_bytes(train)),
            CommitOperationAdd("data/test-00000.parquet", parquet_bytes(test)),
        ],
        commit_message=f"parquet {run}",
        repo_type="dataset",
    )
    api.upload_file(path_or_fileobj=table.to_csv(index=False).encode(), path_in_repo="table.csv",
                    repo_id=csv_repo, repo_type="dataset")
    info = api.dataset_info(pq_repo)
    assert [c["config_name"] for c in info.card_data.configs] == ["default"]

    pq_ds = load_dataset(pq_repo)
    assert pq_ds["train"].to_pandas().equals(train)
    assert pq_ds["test"].to_pandas().equals(test)
    streamed = list(load_dataset(pq_repo, split="test", streaming=True))
    assert streamed == test.to_dict(orient="records")
    assert load_dataset(csv_repo, split="train").to_pandas().equals(table)
    streamed = list(load_dataset(csv_repo, split="train", streaming=True))
    assert streamed == table.to_dict(orient="records")
