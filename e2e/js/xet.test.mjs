// End-to-end test of Xet storage with the unmodified @huggingface/hub
// client (which uploads and downloads through Xet by default). Started by
// xet_test.go, which runs `agora serve` and passes:
//   HUB_URL, TOKEN_ALICE, TOKEN_ALICE_READ, TOKEN_BOB, E2E_PREFIX
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import * as hub from "@huggingface/hub";

const hubUrl = process.env.HUB_URL;
const alice = process.env.TOKEN_ALICE;
const bob = process.env.TOKEN_BOB;
const prefix = process.env.E2E_PREFIX ?? "xet";
assert.ok(hubUrl && alice && bob, "HUB_URL and tokens must be set");

const model = { type: "model", name: `alice/${prefix}-model` };
const privateRepo = { type: "model", name: `alice/${prefix}-private` };
const bobRepo = { type: "model", name: `bob/${prefix}-copy` };

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

// A 24 MiB file and a second version with 64 KiB changed in the middle.
const v1 = randomBytes(24 * 1024 * 1024);
const v2 = Buffer.from(v1);
randomBytes(64 * 1024).copy(v2, 9 * 1024 * 1024 + 12345);

// counter is a fetch that counts what the client sends to and asks of
// the CAS, by route.
function counter() {
  const c = { xorbBytes: 0, xorbs: 0, shards: 0, reconstructions: 0, dataFetches: 0, dedup: 0, lfsPuts: 0 };
  c.fetch = async (url, init = {}) => {
    const u = String(url);
    const method = init.method ?? "GET";
    if (method === "POST" && /\/v1\/xorbs\//.test(u)) {
      c.xorbs++;
      c.xorbBytes += init.body.byteLength ?? init.body.size ?? 0;
    }
    if (method === "POST" && /\/v1\/shards$/.test(u)) c.shards++;
    if (/\/v2\/reconstructions\//.test(u)) c.reconstructions++;
    if (/\/v1\/xorb-data\//.test(u) || /X-Amz-Signature/.test(u)) c.dataFetches++;
    if (/\/v1\/chunks\//.test(u)) c.dedup++;
    if (method === "PUT" && /\/api\/lfs\//.test(u)) c.lfsPuts++;
    return fetch(url, init);
  };
  return c;
}

// metrics returns the server's request counters of the CAS routes.
async function casCounters() {
  const text = await (await fetch(`${hubUrl}/metrics`)).text();
  const out = {};
  for (const m of text.matchAll(/^agora_http_requests_total\{code="(\d+)",method="(\w+)",route="(cas-[\w-]+)"\} (\d+)/gm)) {
    out[`${m[3]} ${m[1]}`] = (out[`${m[3]} ${m[1]}`] ?? 0) + Number(m[4]);
  }
  return out;
}

async function bytesOf(blob) {
  return Buffer.from(await blob.arrayBuffer());
}

async function expectStatus(promise, statuses) {
  await assert.rejects(promise, (err) => {
    assert.ok(statuses.includes(err.statusCode ?? err.status), `expected HTTP ${statuses}, got ${err.statusCode}: ${err.message}`);
    return true;
  });
}

test("repositories", async () => {
  await hub.createRepo({ repo: model, accessToken: alice, hubUrl });
  await hub.createRepo({ repo: privateRepo, accessToken: alice, hubUrl, private: true });
  await hub.createRepo({ repo: bobRepo, accessToken: bob, hubUrl });
});

test("an upload negotiates Xet and goes through the CAS routes", async () => {
  const before = await casCounters();
  const c = counter();
  await hub.uploadFile({ repo: model, accessToken: alice, hubUrl, file: { path: "weights.bin", content: new Blob([v1]) }, fetch: c.fetch });
  assert.ok(c.xorbs >= 1 && c.shards >= 1, `client used the CAS: ${JSON.stringify(c)}`);
  assert.equal(c.lfsPuts, 0, "no LFS PUT");
  assert.ok(c.xorbBytes >= v1.length * 0.99 && c.xorbBytes < v1.length * 1.01, `first upload sends the file once: ${c.xorbBytes}`);
  const after = await casCounters();
  for (const route of ["cas-xorb-upload 200", "cas-shard-v1 200"]) {
    assert.ok((after[route] ?? 0) > (before[route] ?? 0), `server counted ${route}: ${JSON.stringify(after)}`);
  }
  // The commit holds the usual LFS pointer.
  const [entry] = await hub.pathsInfo({ repo: model, paths: ["weights.bin"], accessToken: alice, hubUrl });
  assert.equal(entry.lfs.oid, sha256(v1));
  assert.equal(entry.size, v1.length);
  const pointer = await bytesOf(await hub.downloadFile({ repo: model, path: "weights.bin", raw: true, accessToken: alice, hubUrl }));
  assert.equal(pointer.toString(), `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(v1)}\nsize ${v1.length}\n`);
});

test("it downloads through Xet (XetBlob) and through plain resolve, whole and in ranges", async () => {
  const info = await hub.fileDownloadInfo({ repo: model, path: "weights.bin", accessToken: alice, hubUrl });
  assert.ok(info.xet, "resolve announces Xet");
  assert.equal(info.size, v1.length);
  assert.equal(info.etag, `"${sha256(v1)}"`);
  assert.ok(info.xet.reconstructionUrl.href.startsWith(`${hubUrl}/cas/v1/reconstructions/`));

  const c = counter();
  const blob = await hub.downloadFile({ repo: model, path: "weights.bin", accessToken: alice, hubUrl, fetch: c.fetch });
  assert.equal(blob.constructor.name, "XetBlob");
  assert.equal(sha256(await bytesOf(blob)), sha256(v1));
  assert.ok(c.reconstructions >= 1 && c.dataFetches >= 1, `downloaded through the CAS: ${JSON.stringify(c)}`);
  for (const [a, b] of [[0, 1], [1, 100_000], [5_000_000, 17_000_000], [v1.length - 70_000, v1.length]]) {
    const part = await bytesOf(blob.slice(a, b));
    assert.ok(part.equals(v1.subarray(a, b)), `XetBlob slice ${a}-${b}`);
  }

  const plain = await hub.downloadFile({ repo: model, path: "weights.bin", accessToken: alice, hubUrl, xet: false });
  assert.notEqual(plain.constructor.name, "XetBlob");
  assert.equal(sha256(await bytesOf(plain)), sha256(v1));
  for (const [a, b] of [[0, 0], [12345, 1_234_567], [v1.length - 1, v1.length - 1]]) {
    const r = await fetch(`${hubUrl}/${model.name}/resolve/main/weights.bin`, { headers: { Range: `bytes=${a}-${b}` } });
    assert.equal(r.status, 206);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(v1.subarray(a, b + 1)), `resolve range ${a}-${b}`);
  }
});

test("a second version with 64 KiB changed sends under 10 % of its bytes", async () => {
  const c = counter();
  await hub.uploadFile({ repo: model, accessToken: alice, hubUrl, file: { path: "weights.bin", content: new Blob([v2]) }, fetch: c.fetch });
  assert.ok(c.xorbBytes < v2.length / 10, `second version sent ${c.xorbBytes} of ${v2.length} bytes`);
  assert.ok(c.dedup >= 1, "the client asked the dedup index");
  const blob = await hub.downloadFile({ repo: model, path: "weights.bin", accessToken: alice, hubUrl });
  assert.equal(sha256(await bytesOf(blob)), sha256(v2));
  const old = await hub.downloadFile({ repo: model, path: "weights.bin", revision: "main~1", accessToken: alice, hubUrl }).catch(() => null);
  if (old) assert.equal(sha256(await bytesOf(old)), sha256(v1));
});

test("a copy in another user's repository deduplicates", async () => {
  const c = counter();
  await hub.uploadFile({ repo: bobRepo, accessToken: bob, hubUrl, file: { path: "copy.bin", content: new Blob([v1]) }, fetch: c.fetch });
  assert.ok(c.xorbBytes < v1.length / 100, `the copy sent ${c.xorbBytes} bytes`);
  const blob = await hub.downloadFile({ repo: bobRepo, path: "copy.bin", accessToken: bob, hubUrl });
  assert.equal(sha256(await bytesOf(blob)), sha256(v1));
});

test("private files need authorisation on every CAS route", async () => {
  const secret = randomBytes(3 * 1024 * 1024);
  await hub.uploadFile({ repo: privateRepo, accessToken: alice, hubUrl, file: { path: "secret.bin", content: new Blob([secret]) } });
  const info = await hub.fileDownloadInfo({ repo: privateRepo, path: "secret.bin", accessToken: alice, hubUrl });
  assert.ok(info.xet);
  assert.equal(sha256(await bytesOf(await hub.downloadFile({ repo: privateRepo, path: "secret.bin", accessToken: alice, hubUrl }))), sha256(secret));

  // Nobody else gets a token, or file information.
  await expectStatus(hub.fileDownloadInfo({ repo: privateRepo, path: "secret.bin", hubUrl }), [401, 404]);
  await expectStatus(hub.fileDownloadInfo({ repo: privateRepo, path: "secret.bin", accessToken: bob, hubUrl }), [404]);
  for (const kind of ["read", "write"]) {
    for (const token of [undefined, bob]) {
      const r = await fetch(`${hubUrl}/api/models/${privateRepo.name}/xet-${kind}-token/main`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
      assert.ok([401, 403, 404].includes(r.status), `${kind} token for ${token ? "bob" : "anonymous"}: ${r.status}`);
    }
  }
  // Every CAS route wants a CAS token; bob's (for his own repository)
  // does not reach alice's file.
  const cas = `${hubUrl}/cas`;
  const bobTok = await (await fetch(`${hubUrl}/api/models/${bobRepo.name}/xet-write-token/main`, { headers: { Authorization: `Bearer ${bob}` } })).json();
  const routes = [
    ["GET", `/v1/reconstructions/${info.xet.hash}`],
    ["GET", `/v2/reconstructions/${info.xet.hash}`],
    ["GET", `/v1/chunks/default/${info.xet.hash}`],
    ["POST", `/v1/xorbs/default/${info.xet.hash}`],
    ["POST", `/v1/shards`],
  ];
  for (const [method, path] of routes) {
    for (const auth of [undefined, `Bearer ${alice}`, "Bearer xet1.invalid"]) {
      const r = await fetch(cas + path, { method, headers: auth ? { Authorization: auth } : {} });
      assert.equal(r.status, 401, `${method} ${path} with ${auth ?? "nothing"}`);
    }
  }
  for (const v of ["v1", "v2"]) {
    const r = await fetch(`${cas}/${v}/reconstructions/${info.xet.hash}`, { headers: { Authorization: `Bearer ${bobTok.accessToken}` } });
    assert.equal(r.status, 404, `bob's token reads alice's private file through ${v}`);
  }
});
