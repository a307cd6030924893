"""datasets: push_to_hub twice, load_dataset (cached and streaming), and a
dataset repository of parquet and CSV files uploaded with HfApi."""

import io

import pytest

datasets = pytest.importorskip("datasets")

import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from datasets import Dataset, load_dataset  # noqa: E402
from huggingface_hub import hf_hub_download  # noqa: E402

from helpers import head  # noqa: E402

RUNS = pytest.mark.parametrize("run", [1, 2])


def rows(run: int, n: int = 20) -> dict:
    return {"id": list(range(n)), "text": [f"run {run} row {i}" for i in range(n)], "score": [i / 4 for i in range(n)]}


def as_columns(ds) -> dict:
    return {k: list(v) for k, v in ds.to_dict().items()} if hasattr(ds, "to_dict") else ds


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


TABULAR_CARD = b"""---
configs:
- config_name: pq
  data_files:
  - split: train
    path: pq/train-*.parquet
  - split: test
    path: pq/test-*.parquet
- config_name: csv
  data_files:
  - split: train
    path: csv/*.csv
---
# Tabular
"""


def frame(run: int, split: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({"k": [f"{split}-{run}-{i}" for i in range(n)], "v": [run * 100 + i for i in range(n)]})


def parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


@RUNS
def test_parquet_and_csv_repo(api, user, run):
    repo_id = f"{user}/tabular"
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    train, test, table = frame(run, "train", 12), frame(run, "test", 5), frame(run, "csv", 7)
    from huggingface_hub import CommitOperationAdd

    api.create_commit(
        repo_id,
        [
            CommitOperationAdd("README.md", TABULAR_CARD),
            CommitOperationAdd("pq/train-00000.parquet", parquet_bytes(train)),
            CommitOperationAdd("pq/test-00000.parquet", parquet_bytes(test)),
            CommitOperationAdd("csv/table.csv", table.to_csv(index=False).encode()),
        ],
        commit_message=f"tables {run}",
        repo_type="dataset",
    )
    info = api.dataset_info(repo_id)
    assert [c["config_name"] for c in info.card_data.configs] == ["pq", "csv"]

    pq_ds = load_dataset(repo_id, "pq")
    assert pq_ds["train"].to_pandas().equals(train)
    assert pq_ds["test"].to_pandas().equals(test)
    assert load_dataset(repo_id, "csv", split="train").to_pandas().equals(table)
    streamed = list(load_dataset(repo_id, "pq", split="test", streaming=True))
    assert streamed == test.to_dict(orient="records")
