// Progressive enhancement only: every page works without this file.
"use strict";
document.querySelectorAll("button[data-copy]").forEach((b) => {
  if (!navigator.clipboard) return;
  b.hidden = false;
  b.addEventListener("click", () => {
    navigator.clipboard.writeText(b.dataset.copy).then(() => {
      b.textContent = "Copied";
      setTimeout(() => { b.textContent = "Copy"; }, 1500);
    });
  });
});
// The delete button stays disabled until the repository's name is typed.
document.querySelectorAll("input[data-confirm]").forEach((i) => {
  const btn = i.form.querySelector("button[type=submit]");
  const check = () => { btn.disabled = i.value !== i.dataset.confirm; };
  i.addEventListener("input", check);
  check();
});
// A new repository's visibility follows the chosen owner's default.
document.querySelectorAll("select[data-visibility]").forEach((s) => {
  const box = s.form.querySelector("#" + s.dataset.visibility);
  if (!box) return;
  s.addEventListener("change", () => { box.checked = s.selectedOptions[0].hasAttribute("data-private"); });
});
