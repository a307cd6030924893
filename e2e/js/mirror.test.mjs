// End-to-end test of a pull-through mirror with the unmodified
// @huggingface/hub client. Started by mirror_test.go, which runs an
// upstream `agora serve` and a mirror `agora serve --upstream up=…` and
// passes: UPSTREAM_URL, MIRROR_URL, TOKEN_ALICE (an upstream token).
// Everything read through the mirror must be what the upstream says:
// commit ids, tree entries, ETags, sizes and bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import * as hub from "@huggingface/hub";

const upstream = process.env.UPSTREAM_URL;
const mirror = process.env.MIRROR_URL;
const alice = process.env.TOKEN_ALICE;
assert.ok(upstream && mirror && alice, "UPSTREAM_URL, MIRROR_URL and TOKEN_ALICE must be set");

const model = { type: "model", name: "alice/mirrored" };
const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");
const big = randomBytes(11 * 1024 * 1024 + 5); // over the 10 MB LFS threshold
const small = Buffer.from("hello from the upstream\n");
const bytesOf = async (blob) => Buffer.from(await blob.arrayBuffer());

async function files(hubUrl) {
  const out = [];
  for await (const f of hub.listFiles({ repo: model, recursive: true, expand: true, hubUrl })) {
    delete f.securityFileStatus; // each hub scans on its own
    // The mirror serves LFS content itself through resolve: it names no
    // Xet file it does not hold as Xet, so clients never leave it.
    delete f.xetHash;
    out.push(f);
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

test("upload to the upstream", async () => {
  await hub.createRepo({ repo: model, accessToken: alice, hubUrl: upstream });
  await hub.uploadFiles({
    repo: model, accessToken: alice, hubUrl: upstream, commitTitle: "weights",
    files: [
      { path: "README.md", content: new Blob(["---\nlicense: mit\n---\n# mirrored\n"]) },
      { path: "weights/model.bin", content: new Blob([big]) },
      { path: "hello.txt", content: new Blob([small]) },
    ],
  });
});

test("modelInfo: same commit id and files", async () => {
  const fields = ["sha", "siblings", "cardData"];
  const want = await hub.modelInfo({ name: model.name, hubUrl: upstream, additionalFields: fields });
  const got = await hub.modelInfo({ name: model.name, hubUrl: mirror, additionalFields: fields });
  assert.match(got.sha, /^[0-9a-f]{40}$/);
  assert.equal(got.sha, want.sha);
  assert.deepEqual(got.siblings, want.siblings);
  assert.deepEqual(got.cardData, want.cardData);
});

test("listFiles: same tree entries, last commits included", async () => {
  assert.deepEqual(await files(mirror), await files(upstream));
});

test("fileDownloadInfo and downloadFile: same ETags, sizes and bytes", async () => {
  for (const path of ["weights/model.bin", "hello.txt"]) {
    const want = await hub.fileDownloadInfo({ repo: model, path, hubUrl: upstream });
    const got = await hub.fileDownloadInfo({ repo: model, path, hubUrl: mirror });
    assert.equal(got.etag, want.etag, path);
    assert.equal(got.size, want.size, path);
  }
  const blob = await hub.downloadFile({ repo: model, path: "weights/model.bin", hubUrl: mirror });
  const all = await bytesOf(blob);
  assert.equal(sha256(all), sha256(big));
  const range = await bytesOf(blob.slice(5_000_000, 5_000_777));
  assert.ok(range.equals(big.subarray(5_000_000, 5_000_777)), "range differs");
  const text = await hub.downloadFile({ repo: model, path: "hello.txt", hubUrl: mirror });
  assert.ok((await bytesOf(text)).equals(small));
});

test("a missing file is EntryNotFound, as upstream", async () => {
  assert.equal(await hub.fileDownloadInfo({ repo: model, path: "nope.txt", hubUrl: mirror }), null);
});
