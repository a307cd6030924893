// End-to-end test of the core hub with the unmodified @huggingface/hub
// client. Started by e2e_test.go, which runs `agora serve` and passes:
//   HUB_URL, TOKEN_ALICE, TOKEN_ALICE_READ, TOKEN_BOB, E2E_PREFIX
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import * as hub from "@huggingface/hub";

const hubUrl = process.env.HUB_URL;
const alice = process.env.TOKEN_ALICE;
const aliceRead = process.env.TOKEN_ALICE_READ;
const bob = process.env.TOKEN_BOB;
const prefix = process.env.E2E_PREFIX ?? "e2e";
// With a blob store that redirects downloads (S3 presigned URLs), the JS
// client reads the ETag of the store's answer, which is the store's own.
const etagFromStore = process.env.LFS_ETAG_FROM_STORE === "1";
// USE_XET=0 uploads through the LFS basic and multipart transfers instead
// of Xet (the client's default), so both upload paths stay covered.
const useXet = process.env.USE_XET !== "0";
assert.ok(hubUrl && alice && bob && aliceRead, "HUB_URL and tokens must be set");

const model = { type: "model", name: `alice/${prefix}-model` };
const dataset = { type: "dataset", name: `alice/${prefix}-data` };
const privateRepo = { type: "model", name: `alice/${prefix}-private` };

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");
const gitSha1 = (buf) => createHash("sha1").update(`blob ${buf.length}\0`).update(buf).digest("hex");

// Content: two LFS files over 10 MB, small files, a card.
const big1 = randomBytes(11 * 1024 * 1024 + 17);
const big2 = randomBytes(12 * 1024 * 1024 + 3);
const card = `---
license: apache-2.0
language:
- en
- fr
library_name: transformers
pipeline_tag: text-generation
tags:
- e2e
datasets:
- alice/${prefix}-data
---
# ${prefix} model

A model used by the end-to-end tests.
`;
const config = JSON.stringify({ architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: 64 });
const small = Buffer.from("hello from agora\n");
const nested = Buffer.from("nested file\n");

async function bytesOf(blob) {
  return Buffer.from(await blob.arrayBuffer());
}

async function expectStatus(promise, status, re) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.statusCode, status, `expected HTTP ${status}, got ${err.statusCode}: ${err.message}`);
    if (re) assert.match(err.message, re);
    return true;
  });
}

let firstCommit;
let uploadCommit;

test("whoAmI", async () => {
  const me = await hub.whoAmI({ accessToken: alice, hubUrl });
  assert.equal(me.name, "alice");
  assert.equal(me.type, "user");
  assert.equal(me.auth.accessToken.role, "write");
  assert.ok(me.auth.accessToken.createdAt instanceof Date);
  const ro = await hub.whoAmI({ accessToken: aliceRead, hubUrl });
  assert.equal(ro.auth.accessToken.role, "read");
  await expectStatus(hub.whoAmI({ accessToken: "hf_not_a_real_token_at_all_xxxxxxxxxx", hubUrl }), 401);
});

test("createRepo: model, dataset, private; duplicate is 409", async () => {
  const res = await hub.createRepo({ repo: model, accessToken: alice, hubUrl });
  assert.equal(res.repoUrl, `${hubUrl}/${model.name}`);
  const ds = await hub.createRepo({ repo: dataset, accessToken: alice, hubUrl });
  assert.equal(ds.repoUrl, `${hubUrl}/datasets/${dataset.name}`);
  await hub.createRepo({ repo: privateRepo, accessToken: alice, hubUrl, private: true });
  await expectStatus(hub.createRepo({ repo: model, accessToken: alice, hubUrl }), 409);
  // Writing someone else's namespace is refused; read tokens cannot create.
  await expectStatus(hub.createRepo({ repo: { type: "model", name: `alice/${prefix}-bob` }, accessToken: bob, hubUrl }), 403);
  await expectStatus(hub.createRepo({ repo: { type: "model", name: `alice/${prefix}-ro` }, accessToken: aliceRead, hubUrl }), 403);
  await expectStatus(hub.createRepo({ repo: { type: "model", name: `alice/bad..name` }, accessToken: alice, hubUrl }), 400);
  const info = await hub.modelInfo({ name: model.name, hubUrl, additionalFields: ["sha"] });
  firstCommit = info.sha;
  assert.match(firstCommit, /^[0-9a-f]{40}$/);
});

test("uploadFiles: LFS and regular files in one commit", async () => {
  const res = await hub.uploadFiles({ useXet,
    repo: model,
    accessToken: alice,
    hubUrl,
    commitTitle: "Add weights",
    files: [
      { path: "README.md", content: new Blob([card]) },
      { path: "config.json", content: new Blob([config]) },
      { path: "weights/part-1.bin", content: new Blob([big1]) },
      { path: "weights/part-2.safetensors", content: new Blob([big2]) },
      { path: "hello.txt", content: new Blob([small]) },
      { path: "dir/sub/nested.txt", content: new Blob([nested]) },
    ],
  });
  assert.match(res.commit.oid, /^[0-9a-f]{40}$/);
  assert.equal(res.commit.url, `${hubUrl}/${model.name}/commit/${res.commit.oid}`);
  uploadCommit = res.commit.oid;
});

test("listFiles recursive with sizes, oids and LFS info", async () => {
  const files = [];
  for await (const f of hub.listFiles({ repo: model, recursive: true, hubUrl, accessToken: alice })) {
    files.push(f);
  }
  const byPath = Object.fromEntries(files.map((f) => [f.path, f]));
  for (const p of [".gitattributes", "README.md", "config.json", "hello.txt", "dir", "dir/sub", "dir/sub/nested.txt", "weights", "weights/part-1.bin", "weights/part-2.safetensors"]) {
    assert.ok(byPath[p], `missing ${p} in ${Object.keys(byPath)}`);
  }
  assert.equal(byPath["dir"].type, "directory");
  assert.equal(byPath["hello.txt"].type, "file");
  assert.equal(byPath["hello.txt"].size, small.length);
  assert.equal(byPath["hello.txt"].oid, gitSha1(small));
  assert.equal(byPath["hello.txt"].lfs, undefined);
  assert.equal(byPath["weights/part-1.bin"].size, big1.length);
  assert.equal(byPath["weights/part-1.bin"].lfs.oid, sha256(big1));
  assert.equal(byPath["weights/part-2.safetensors"].lfs.size, big2.length);
  // Non-recursive listing of a folder.
  const top = [];
  for await (const f of hub.listFiles({ repo: model, path: "weights", hubUrl })) top.push(f.path);
  assert.deepEqual(top.sort(), ["weights/part-1.bin", "weights/part-2.safetensors"]);
});

test("fileDownloadInfo and downloadFile (whole and ranges), byte for byte", async () => {
  const info = await hub.fileDownloadInfo({ repo: model, path: "weights/part-1.bin", hubUrl });
  assert.equal(info.size, big1.length);
  if (!etagFromStore) assert.equal(info.etag.replaceAll('"', ""), sha256(big1));
  const regular = await hub.fileDownloadInfo({ repo: model, path: "hello.txt", hubUrl });
  assert.equal(regular.etag.replaceAll('"', ""), gitSha1(small));

  const blob = await hub.downloadFile({ repo: model, path: "weights/part-1.bin", hubUrl });
  assert.ok(blob);
  assert.ok((await bytesOf(blob)).equals(big1), "LFS content differs");
  const range = await bytesOf(blob.slice(1_000_000, 3_000_123));
  assert.ok(range.equals(big1.subarray(1_000_000, 3_000_123)), "range differs");
  const tail = await bytesOf(blob.slice(big1.length - 10));
  assert.ok(tail.equals(big1.subarray(big1.length - 10)), "tail range differs");

  const b2 = await hub.downloadFile({ repo: model, path: "weights/part-2.safetensors", hubUrl, revision: uploadCommit });
  assert.ok((await bytesOf(b2)).equals(big2));
  const t = await hub.downloadFile({ repo: model, path: "dir/sub/nested.txt", hubUrl });
  assert.ok((await bytesOf(t)).equals(nested));
  // raw gives the pointer for LFS files.
  const ptr = await hub.downloadFile({ repo: model, path: "weights/part-1.bin", hubUrl, raw: true });
  assert.match(await ptr.text(), new RegExp(`oid sha256:${sha256(big1)}`));
});

test("modelInfo and datasetInfo", async () => {
  const info = await hub.modelInfo({
    name: model.name, hubUrl,
    additionalFields: ["sha", "cardData", "tags", "library_name", "siblings", "createdAt", "author"],
  });
  assert.equal(info.name, model.name);
  assert.equal(info.private, false);
  assert.equal(info.task, "text-generation");
  assert.equal(info.sha, uploadCommit);
  assert.equal(info.cardData.license, "apache-2.0");
  assert.equal(info.library_name, "transformers");
  assert.ok(info.tags.includes("license:apache-2.0"), `tags ${info.tags}`);
  assert.ok(info.tags.includes("e2e"));
  assert.ok(info.updatedAt instanceof Date);
  assert.ok(info.siblings.some((s) => s.rfilename === "weights/part-1.bin"));
  const old = await hub.modelInfo({ name: model.name, hubUrl, revision: firstCommit, additionalFields: ["sha", "siblings"] });
  assert.equal(old.sha, firstCommit);
  assert.deepEqual(old.siblings.map((s) => s.rfilename), [".gitattributes"]);
  const ds = await hub.datasetInfo({ name: dataset.name, hubUrl });
  assert.equal(ds.name, dataset.name);
});

test("listModels with search, author and paging", async () => {
  for (const i of [1, 2, 3, 4, 5]) {
    await hub.createRepo({ repo: { type: "model", name: `bob/${prefix}-pager-${i}` }, accessToken: bob, hubUrl });
  }
  // Small pages through the client's own Link-following: the injected fetch
  // only lowers the page size the client asks for.
  let pages = 0;
  const smallPages = (url, init) => {
    pages++;
    const u = new URL(url);
    if (u.searchParams.get("limit") === "500") u.searchParams.set("limit", "2");
    return fetch(u, init);
  };
  const names = [];
  for await (const m of hub.listModels({ search: { query: `${prefix}-PAGER` }, hubUrl, fetch: smallPages })) {
    names.push(m.name);
  }
  assert.deepEqual(names.sort(), [1, 2, 3, 4, 5].map((i) => `bob/${prefix}-pager-${i}`));
  assert.equal(pages, 3, "expected three pages of two");
  const byAuthor = [];
  for await (const m of hub.listModels({ search: { owner: "alice" }, hubUrl })) byAuthor.push(m.name);
  assert.ok(byAuthor.includes(model.name));
  assert.ok(!byAuthor.includes(privateRepo.name), "private repo listed anonymously");
  const mine = [];
  for await (const m of hub.listModels({ search: { owner: "alice" }, hubUrl, accessToken: alice })) mine.push(m.name);
  assert.ok(mine.includes(privateRepo.name), "owner does not see own private repo");
  const limited = [];
  for await (const m of hub.listModels({ search: { query: `${prefix}-pager` }, hubUrl, limit: 2 })) limited.push(m.name);
  assert.equal(limited.length, 2);
  const tagged = [];
  for await (const m of hub.listModels({ search: { tags: ["license:apache-2.0", "e2e"] }, hubUrl })) tagged.push(m.name);
  assert.deepEqual(tagged, [model.name]);
});

test("commit with a delete, branches, downloads at a branch and an old commit", async () => {
  await hub.createBranch({ repo: model, branch: "dev/feature", accessToken: alice, hubUrl });
  await hub.uploadFile({ useXet, repo: model, accessToken: alice, hubUrl, branch: "dev/feature", file: { path: "hello.txt", content: new Blob(["on the branch\n"]) } });
  const del = await hub.commit({ useXet,
    repo: model, accessToken: alice, hubUrl, title: "Remove hello",
    operations: [{ operation: "delete", path: "hello.txt" }],
  });
  assert.match(del.commit.oid, /^[0-9a-f]{40}$/);
  assert.equal(await hub.fileExists({ repo: model, path: "hello.txt", hubUrl }), false);
  const onBranch = await hub.downloadFile({ repo: model, path: "hello.txt", revision: "dev/feature", hubUrl });
  assert.equal(await onBranch.text(), "on the branch\n");
  const atOld = await hub.downloadFile({ repo: model, path: "hello.txt", revision: uploadCommit, hubUrl });
  assert.ok((await bytesOf(atOld)).equals(small));
  const commits = [];
  for await (const c of hub.listCommits({ repo: model, hubUrl })) commits.push(c);
  assert.equal(commits[0].title, "Remove hello");
  assert.equal(commits.at(-1).oid, firstCommit);
  assert.equal(await hub.countCommits({ repo: model, hubUrl }), commits.length);
  await hub.deleteBranch({ repo: model, branch: "dev/feature", accessToken: alice, hubUrl });
  await expectStatus(hub.downloadFile({ repo: model, path: "hello.txt", revision: "dev/feature", hubUrl }), 404);
});

test("errors: missing repo, file, revision; private repo seen by others", async () => {
  await expectStatus(hub.modelInfo({ name: "alice/does-not-exist", hubUrl }), 404);
  assert.equal(await hub.repoExists({ repo: { type: "model", name: "alice/does-not-exist" }, hubUrl }), false);
  assert.equal(await hub.downloadFile({ repo: model, path: "no/such/file", hubUrl }), null);
  await expectStatus(hub.downloadFile({ repo: model, path: "config.json", revision: "no-such-branch", hubUrl }), 404, /Invalid rev id/);
  // Private: invisible to anonymous and to bob, exactly like a missing repo.
  await hub.uploadFile({ useXet, repo: privateRepo, accessToken: alice, hubUrl, file: { path: "secret.txt", content: new Blob(["s3cret"]) } });
  for (const accessToken of [undefined, bob]) {
    await expectStatus(hub.modelInfo({ name: privateRepo.name, hubUrl, accessToken }), 404);
    await expectStatus(hub.downloadFile({ repo: privateRepo, path: "secret.txt", hubUrl, accessToken }), 404);
    assert.equal(await hub.repoExists({ repo: privateRepo, hubUrl, accessToken }), false);
  }
  const mine = await hub.downloadFile({ repo: privateRepo, path: "secret.txt", hubUrl, accessToken: aliceRead });
  assert.equal(await mine.text(), "s3cret");
  // Writes by others are refused.
  await expectStatus(hub.uploadFile({ useXet, repo: model, accessToken: bob, hubUrl, file: { path: "x.txt", content: new Blob(["x"]) } }), 403);
  await expectStatus(hub.uploadFile({ useXet, repo: model, accessToken: aliceRead, hubUrl, file: { path: "x.txt", content: new Blob(["x"]) } }), 403);
});

test("deleteRepo", async () => {
  await hub.deleteRepo({ repo: dataset, accessToken: alice, hubUrl });
  await expectStatus(hub.datasetInfo({ name: dataset.name, hubUrl }), 404);
  await expectStatus(hub.deleteRepo({ repo: dataset, accessToken: alice, hubUrl }), 404);
  await expectStatus(hub.deleteRepo({ repo: model, accessToken: bob, hubUrl }), 403);
});
