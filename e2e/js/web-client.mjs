// Used by web_test.go (not a node test file): checks that a token created
// in the web UI works with the unmodified JS client, and uploads a model
// card to a repository created in the web UI.
//   HUB_URL, TOKEN: the hub and the token; REPO (optional): "owner/name";
//   CARD: the README.md to upload to REPO.
import * as hub from "@huggingface/hub";

const { HUB_URL: hubUrl, TOKEN: accessToken, REPO: repo, CARD: card } = process.env;
if (!hubUrl || !accessToken) {
  throw new Error("HUB_URL and TOKEN must be set");
}
const me = await hub.whoAmI({ accessToken, hubUrl });
console.log(JSON.stringify({ name: me.name, role: me.auth?.accessToken?.role }));
if (repo) {
  const res = await hub.uploadFile({
    repo: { type: "model", name: repo },
    accessToken,
    hubUrl,
    file: { path: "README.md", content: new Blob([card ?? "# Uploaded\n"]) },
    commitTitle: "Upload the card with the JS client",
  });
  console.log(JSON.stringify({ commit: res.commit.oid }));
}
