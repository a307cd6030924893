"""The command line as each version ships it, run twice on the same repository.

huggingface_hub 0.36 ships `hf` (auth, repo create, repo tag, upload,
download, repo-files) next to the older `huggingface-cli`; 1.x and 2.x ship
`hf` with `repos` (branch, tag, delete, delete-files) and `models ls`.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import hf_hub_download

from helpers import ENDPOINT, HUB, head, read_files, remote_files, write_files

RUNS = pytest.mark.parametrize("run", [1, 2])
BIN = Path(sys.executable).parent
NEW_CLI = HUB.major >= 1  # `hf repos …`, `hf models ls`
REPOS = "repos" if NEW_CLI else "repo"


def cli(*args, prog="hf", ok=True):
    """Run the CLI; its output is shown when it fails."""
    p = subprocess.run([str(BIN / prog), *args], capture_output=True, text=True, timeout=300)
    if ok and p.returncode != 0:
        pytest.fail(f"{prog} {' '.join(args)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def printed_path(p) -> Path:
    """The path a download command prints as its last line."""
    return Path(p.stdout.strip().splitlines()[-1])


@RUNS
def test_cli_workflow(api, user, run, tmp_path):
    repo_id = f"{user}/cli-model"
    assert user in cli("auth", "whoami").stdout

    cli(REPOS, "create", repo_id, "--exist-ok")
    assert api.repo_exists(repo_id)

    # One file.
    one = write_files(tmp_path / "one", {"hello.txt": b"hello %d\n" % run})
    before = head(api, repo_id)
    out = cli("upload", repo_id, str(one / "hello.txt"), "hello.txt", "--commit-message", f"hello {run}").stdout
    assert ENDPOINT in out, out
    assert head(api, repo_id) != before
    assert api.list_repo_commits(repo_id)[0].title == f"hello {run}"
    assert remote_files(api, repo_id, "main")["hello.txt"] == b"hello %d\n" % run

    # A folder onto a branch (created by upload when missing), filtered.
    folder = write_files(
        tmp_path / "folder",
        {
            "a.txt": b"a %d\n" % run,
            "nested/b.txt": b"b\n",
            "nested/skip.txt": b"skip\n",
            "data.bin": b"\x00\x01binary",
            "notes.md": b"not included\n",
        },
    )
    if NEW_CLI:
        patterns = ["--include", "*.txt", "--include", "*.bin", "--exclude", "*skip*"]
    else:  # argparse, nargs="*"
        patterns = ["--include", "*.txt", "*.bin", "--exclude", "*skip*"]
    cli("upload", repo_id, str(folder), "up", "--revision", "dev", *patterns)
    dev = remote_files(api, repo_id, "dev")
    assert {k: v for k, v in dev.items() if k.startswith("up/")} == {
        "up/a.txt": b"a %d\n" % run,
        "up/nested/b.txt": b"b\n",
        "up/data.bin": b"\x00\x01binary",
    }
    assert not any(k.startswith("up/") for k in remote_files(api, repo_id, "main"))

    # A pull request.
    main = head(api, repo_id)
    prs_before = {r.ref for r in api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests}
    pr_file = write_files(tmp_path / "pr", {"pr.txt": b"pr %d\n" % run})
    cli("upload", repo_id, str(pr_file / "pr.txt"), "pr.txt", "--create-pr")
    prs = {r.ref: r.target_commit for r in api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests}
    new = set(prs) - prs_before
    assert len(new) == 1, prs
    pr_ref = new.pop()
    assert Path(hf_hub_download(repo_id, "pr.txt", revision=pr_ref)).read_bytes() == b"pr %d\n" % run
    assert head(api, repo_id) == main

    # Downloads: a file, then a filtered snapshot into a folder.
    quiet = ["--quiet"] if NEW_CLI else []  # 2.x prints "path: …" for agents by default
    path = printed_path(cli("download", repo_id, "hello.txt", *quiet))
    assert path.read_bytes() == b"hello %d\n" % run
    assert path.parent.name == main
    local = tmp_path / "local"
    cli("download", repo_id, "--revision", "dev", "--include", "up/nested/*", "--local-dir", str(local))
    assert read_files(local) == {"up/nested/b.txt": b"b\n"}

    # Tags.
    tag = f"cli-v{run}"
    cli(REPOS, "tag", "create", repo_id, tag, "--revision", "dev", "-m", f"tag {run}")
    assert head(api, repo_id, tag) == head(api, repo_id, "dev")
    assert tag in cli(REPOS, "tag", "list", repo_id).stdout
    cli(REPOS, "tag", "delete", repo_id, tag, "-y")
    assert not api.revision_exists(repo_id, tag)

    # File deletion.
    if NEW_CLI:
        cli("repos", "delete-files", repo_id, "hello.txt")
    else:
        cli("repo-files", "delete", repo_id, "hello.txt")
    assert not api.file_exists(repo_id, "hello.txt")


@RUNS
@pytest.mark.skipif(not NEW_CLI, reason="hf 0.36 has no branch, ls or repo delete commands")
def test_cli_branches_listing_delete(api, user, run):
    repo_id = f"{user}/cli-model"
    cli("repos", "branch", "create", repo_id, "feature", "--revision", "main")
    assert head(api, repo_id, "feature") == head(api, repo_id)
    cli("repos", "branch", "create", repo_id, "feature", "--exist-ok")
    cli("repos", "branch", "delete", repo_id, "feature")
    assert not api.revision_exists(repo_id, "feature")

    # Listings: the user's models, then the files of one.
    models = json.loads(cli("models", "ls", "--author", user, "--format", "json").stdout)
    assert repo_id in [m["id"] for m in models], models
    files = cli("models", "ls", repo_id, "--format", "json").stdout
    for f in api.list_repo_files(repo_id):
        assert f in files, (f, files)
    if hasattr(api, "list_user_repos"):
        # The caller's repositories with their storage (`hf repos ls`).
        mine = {r["id"]: r for r in json.loads(cli("repos", "ls", "--limit", "0", "--format", "json").stdout)}
        assert mine[repo_id]["type"] == "model" and mine[repo_id]["visibility"] == "public", mine
        assert sum(r.storage for r in api.list_user_repos()) > 0

    # A repository deleted and, on the second run, made again under the name.
    scratch = f"{user}/cli-scratch"
    cli("repos", "create", scratch)
    assert api.repo_exists(scratch)
    assert len(api.list_repo_commits(scratch)) == 1, "a re-made repository starts afresh"
    cli("repos", "delete", scratch, "-y")
    assert not api.repo_exists(scratch)


@RUNS
@pytest.mark.skipif(NEW_CLI, reason="huggingface-cli no longer works from huggingface_hub 1.0")
def test_legacy_huggingface_cli(api, user, run, tmp_path):
    repo_id = f"{user}/legacy-cli"
    assert user in cli("whoami", prog="huggingface-cli").stdout
    cli("repo", "create", repo_id, "--exist-ok", prog="huggingface-cli")
    f = write_files(tmp_path, {"x.txt": b"x %d\n" % run}) / "x.txt"
    cli("upload", repo_id, str(f), "x.txt", prog="huggingface-cli")
    sha = head(api, repo_id)
    cli("tag", repo_id, f"t{run}", "--revision", sha, prog="huggingface-cli")
    assert f"t{run}" in cli("tag", repo_id, "--list", prog="huggingface-cli").stdout
    path = printed_path(cli("download", repo_id, "x.txt", "--revision", f"t{run}", prog="huggingface-cli"))
    assert path.read_bytes() == b"x %d\n" % run
    assert path.parent.name == sha
