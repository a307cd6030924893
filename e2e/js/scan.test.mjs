// Security scanning seen through the JS client: securityFileStatus in
// listFiles/pathsInfo (expand) and securityRepoStatus in model info; with
// --scan-policy block a commit adding a dangerous pickle is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as hub from "@huggingface/hub";

const hubUrl = process.env.HUB_URL;
const alice = process.env.TOKEN_ALICE;
const policy = process.env.SCAN_POLICY;
const p = process.env.E2E_PREFIX;
const repo = { type: "model", name: `alice/${p}-pickles` };
const file = async (n) => new Blob([await readFile(join(process.env.FILES_DIR, n))]);

async function repoStatus() {
  const r = await fetch(`${hubUrl}/api/models/${repo.name}?securityStatus=true`);
  return (await r.json()).securityRepoStatus;
}

async function waitScans() {
  for (let i = 0; i < 100; i++) {
    if ((await repoStatus()).scansDone) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail("scans not done");
}

test("benign pickle is innocuous", async () => {
  await hub.createRepo({ repo, accessToken: alice, hubUrl });
  await hub.uploadFiles({ repo, accessToken: alice, hubUrl, files: [{ path: "benign.pkl", content: await file("benign.pkl") }] });
  await waitScans();
  const [info] = await hub.pathsInfo({ repo, paths: ["benign.pkl"], expand: true, hubUrl });
  assert.equal(info.securityFileStatus.status, "safe");
  assert.equal(info.securityFileStatus.pickleImportScan.highestSafetyLevel, "innocuous");
  assert.deepEqual(info.securityFileStatus.pickleImportScan.imports, [{ module: "collections", name: "OrderedDict", safety: "innocuous" }]);
  assert.deepEqual((await repoStatus()).filesWithIssues, []);
});

test(`hostile pickle under policy ${policy}`, async () => {
  const upload = hub.uploadFiles({ repo, accessToken: alice, hubUrl, files: [{ path: "weights/hostile.bin", content: await file("hostile.bin") }] });
  if (policy === "block") {
    await assert.rejects(upload, (err) => {
      assert.equal(err.statusCode, 403);
      assert.match(err.message, /weights\/hostile\.bin/);
      assert.match(err.message, /posix\.system/);
      return true;
    });
    assert.equal(await hub.fileExists({ repo, path: "weights/hostile.bin", hubUrl }), false);
    return;
  }
  await upload;
  await waitScans();
  const entries = [];
  for await (const f of hub.listFiles({ repo, recursive: true, expand: true, hubUrl })) entries.push(f);
  const bad = entries.find((f) => f.path === "weights/hostile.bin");
  assert.equal(bad.securityFileStatus.status, "unsafe");
  assert.equal(bad.securityFileStatus.safe, false);
  assert.equal(bad.securityFileStatus.pickleImportScan.highestSafetyLevel, "dangerous");
  assert.ok(bad.securityFileStatus.pickleImportScan.imports.some((i) => i.module === "posix" && i.name === "system" && i.safety === "dangerous"));
  assert.ok("avScan" in bad.securityFileStatus);
  const st = await repoStatus();
  assert.equal(st.scansDone, true);
  assert.deepEqual(st.filesWithIssues, [{ path: "weights/hostile.bin", level: "unsafe" }]);
  // Downloads stay allowed under the flag policy, as on the Hub.
  const blob = await hub.downloadFile({ repo, path: "weights/hostile.bin", hubUrl });
  assert.ok(blob);
});
