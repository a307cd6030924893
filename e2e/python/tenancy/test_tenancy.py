"""Teams with the unmodified Python client: organisations and their roles,
fine-grained tokens, gated repositories from request to grant.

e2e/python_tenancy_test.go starts the hub and makes the accounts with the
admin CLI (agora org add, org member, token add --scope), then passes the
tokens in:

  HF_TOKEN                alice, admin of acme
  AGORA_E2E_TOKEN_BOB     bob, no role anywhere
  AGORA_E2E_TOKEN_CAROL   carol, contributor of acme
  AGORA_E2E_TOKEN_DAVE    dave, read member of acme
  AGORA_E2E_TOKEN_FG_ONE  alice's fine-grained token: repo.content.read on alice/fg-one
  AGORA_E2E_TOKEN_FG_ORG  carol's fine-grained token: repo.write on org acme
  AGORA_E2E_MEMBERS       the number of members of acme (more than a page)
"""

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.utils import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

ENDPOINT = os.environ["HF_ENDPOINT"].rstrip("/")
ALICE = os.environ["HF_TOKEN"]
BOB = os.environ["AGORA_E2E_TOKEN_BOB"]
CAROL = os.environ["AGORA_E2E_TOKEN_CAROL"]
DAVE = os.environ["AGORA_E2E_TOKEN_DAVE"]
FG_ONE = os.environ["AGORA_E2E_TOKEN_FG_ONE"]
FG_ORG = os.environ["AGORA_E2E_TOKEN_FG_ORG"]
MEMBERS = int(os.environ["AGORA_E2E_MEMBERS"])

api = HfApi()


def raw(method, path, token, body=None):
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(ENDPOINT + path, data=data, method=method, headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_whoami_lists_orgs_with_role():
    who = api.whoami()
    orgs = {o["name"]: o for o in who["orgs"]}
    assert orgs["acme"]["roleInOrg"] == "admin", who
    assert api.whoami(token=DAVE)["orgs"][0]["roleInOrg"] == "read"
    fg = api.whoami(token=FG_ONE)["auth"]["accessToken"]
    assert fg["role"] == "fineGrained", fg
    scoped = fg["fineGrained"]["scoped"]
    assert scoped[0]["entity"]["name"] == "alice/fg-one" and scoped[0]["permissions"] == ["repo.content.read"], fg


def test_members_across_pages():
    members = list(api.list_organization_members("acme"))
    names = [m.username for m in members]
    assert len(names) == MEMBERS == len(set(names)), names
    assert {"alice", "carol", "dave"} <= set(names)


def test_overviews():
    org = api.get_organization_overview("acme")
    assert org.name == "acme" and org.num_users == MEMBERS
    user = api.get_user_overview("carol")
    assert user.username == "carol"


@pytest.mark.parametrize("run", [1, 2])
def test_org_repos_by_role(run, tmp_path):
    # A contributor creates repositories in the org (twice: exist_ok) and
    # writes to them; a read member may not.
    url = api.create_repo("acme/contrib-model", token=CAROL, exist_ok=True)
    assert url.repo_id == "acme/contrib-model"
    p = tmp_path / "f.txt"
    p.write_bytes(b"carol %d\n" % run)
    info = api.upload_file(path_or_fileobj=str(p), path_in_repo="f.txt", repo_id="acme/contrib-model", token=CAROL)
    assert api.model_info("acme/contrib-model", token=DAVE).sha == info.oid
    with pytest.raises(HfHubHTTPError) as e:
        api.create_repo("acme/by-reader", token=DAVE)
    assert e.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as e:
        api.upload_file(path_or_fileobj=str(p), path_in_repo="g.txt", repo_id="acme/contrib-model", token=DAVE)
    assert e.value.response.status_code == 403
    # Private org repositories are visible to members only.
    api.create_repo("acme/private", private=True, exist_ok=True)
    assert api.model_info("acme/private", token=DAVE).private
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("acme/private", token=BOB)


def test_repositories_with_storage():
    # list_user_repos (huggingface_hub 1.x and later; the route for older
    # clients): an organisation's repositories, private ones included, for
    # its members only, with storage shares that add up.
    api.create_repo("acme/private", private=True, exist_ok=True)
    api.upload_file(path_or_fileobj=b"x" * 5000, path_in_repo="w.bin", repo_id="acme/private")
    status, body = raw("GET", "/api/organizations/acme/settings/repositories", DAVE)
    assert status == 200, body
    repos = {r["id"]: r for r in json.loads(body)}
    assert repos["acme/private"]["visibility"] == "private" and repos["acme/private"]["storage"] >= 5000, repos
    assert abs(sum(r["storagePercent"] for r in repos.values()) - 100) < 1, repos
    status, _ = raw("GET", "/api/organizations/acme/settings/repositories", BOB)
    assert status == 403
    if hasattr(api, "list_user_repos"):
        assert "acme/private" in [r.id for r in api.list_user_repos(namespace="acme", token=DAVE)]
        mine = {r.id: r for r in api.list_user_repos()}
        assert all(i.startswith("alice/") for i in mine), mine
        with pytest.raises(HfHubHTTPError) as e:
            list(api.list_user_repos(namespace="acme", token=BOB))
        assert e.value.response.status_code == 403


def test_move_between_user_and_org():
    api.create_repo("alice/to-move", exist_ok=True)
    api.move_repo("alice/to-move", "acme/moved")
    assert api.model_info("acme/moved").id == "acme/moved"
    # A contributor may not take an org repository out of the org.
    with pytest.raises(HfHubHTTPError) as e:
        api.move_repo("acme/moved", "carol/stolen", token=CAROL)
    assert e.value.response.status_code == 403
    api.move_repo("acme/moved", "alice/back")
    assert api.model_info("alice/back").id == "alice/back"
    # The old names keep redirecting reads.
    status, _ = raw("GET", "/api/models/acme/moved", ALICE)
    assert status in (301, 302, 307, 308)


def test_fine_grained_reads_one_repo():
    path = hf_hub_download("alice/fg-one", "a.txt", token=FG_ONE)
    assert Path(path).read_bytes() == b"fg-one\n"
    with pytest.raises(HfHubHTTPError) as e:
        api.model_info("alice/fg-two", token=FG_ONE)
    assert e.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as e:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/fg-one", token=FG_ONE)
    assert e.value.response.status_code == 403


def test_fine_grained_write_scope_on_org():
    api.create_repo("acme/fg-written", token=FG_ORG, exist_ok=True)
    info = api.upload_file(path_or_fileobj=b"scoped\n", path_in_repo="s.txt", repo_id="acme/fg-written", token=FG_ORG)
    assert api.model_info("acme/fg-written").sha == info.oid
    with pytest.raises(HfHubHTTPError):
        api.create_repo("carol/outside-scope", token=FG_ORG)


CARD = b"""---
license: mit
extra_gated_prompt: Tell us who you are.
extra_gated_fields:
  Company: text
  Purpose: text
---
# Gated
"""


def _gated(repo_id, mode):
    api.create_repo(repo_id, exist_ok=True)
    api.upload_file(path_or_fileobj=CARD, path_in_repo="README.md", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b"weights of " + repo_id.encode(), path_in_repo="w.bin", repo_id=repo_id)
    api.update_repo_settings(repo_id, gated=mode)
    assert api.model_info(repo_id).gated == mode


def _ask(repo_id, token):
    status, body = raw("POST", f"/{repo_id}/ask-access", token, {"Company": "ACME", "Purpose": "research"})
    assert status in (200, 303), (status, body)


def test_gated_manual_flow(tmp_path):
    repo = "alice/gated-manual"
    _gated(repo, "manual")
    with pytest.raises(GatedRepoError):
        hf_hub_download(repo, "w.bin", token=BOB, cache_dir=tmp_path / "c1")
    # Metadata stays public.
    assert api.model_info(repo, token=BOB).gated == "manual"
    _ask(repo, BOB)
    pending = list(api.list_pending_access_requests(repo))
    assert [r.username for r in pending] == ["bob"], pending
    assert pending[0].fields == {"Company": "ACME", "Purpose": "research"}
    with pytest.raises(GatedRepoError):
        hf_hub_download(repo, "w.bin", token=BOB, cache_dir=tmp_path / "c2")
    api.accept_access_request(repo, "bob")
    assert [r.username for r in api.list_accepted_access_requests(repo)] == ["bob"]
    path = hf_hub_download(repo, "w.bin", token=BOB, cache_dir=tmp_path / "c3")
    assert Path(path).read_bytes() == b"weights of " + repo.encode()
    api.reject_access_request(repo, "bob", rejection_reason="licence terms")
    with pytest.raises(GatedRepoError):
        hf_hub_download(repo, "w.bin", token=BOB, cache_dir=tmp_path / "c4")
    api.cancel_access_request(repo, "bob")
    assert [r.username for r in api.list_pending_access_requests(repo)] == ["bob"]
    api.grant_access(repo, "dave")
    with pytest.raises(HfHubHTTPError):
        api.grant_access(repo, "dave")
    hf_hub_download(repo, "w.bin", token=DAVE, cache_dir=tmp_path / "c5")
    # Only the owners review requests.
    with pytest.raises(HfHubHTTPError) as e:
        list(api.list_pending_access_requests(repo, token=BOB))
    assert e.value.response.status_code == 403
    # auth_check answers like the downloads.
    with pytest.raises(GatedRepoError):
        api.auth_check(repo, token=CAROL)


def test_gated_auto_flow(tmp_path):
    repo = "alice/gated-auto"
    _gated(repo, "auto")
    with pytest.raises(GatedRepoError):
        hf_hub_download(repo, "w.bin", token=CAROL, cache_dir=tmp_path / "a1")
    _ask(repo, CAROL)
    assert [r.username for r in api.list_accepted_access_requests(repo)] == ["carol"]
    path = hf_hub_download(repo, "w.bin", token=CAROL, cache_dir=tmp_path / "a2")
    assert Path(path).read_bytes() == b"weights of " + repo.encode()
    # Anonymous callers get the 401 form of the gate.
    with pytest.raises(GatedRepoError):
        hf_hub_download(repo, "w.bin", token=False, cache_dir=tmp_path / "a3")
