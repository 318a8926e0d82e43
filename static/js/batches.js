// Batches: a folder or many files are sent in groups of 10 (the per-request photo limit), with progress;
// the SKUs the names make are previewed (by the server's own rules) before anything is uploaded.
(function () {
  "use strict";
  const GROUP = 10;

  function chosenInput(form) {
    const source = form.querySelector("input[name=source]:checked").value;
    return form.querySelector(`[data-source=${source}] input[type=file]`);
  }

  function pathOf(file) {
    return file.webkitRelativePath || file.name;
  }

  function syncSource(form) {
    const source = form.querySelector("input[name=source]:checked").value;
    form.querySelectorAll("[data-source]").forEach((box) => {
      const on = box.dataset.source === source;
      box.hidden = !on;
      box.querySelector("input").disabled = !on;
    });
    // Folders name their SKUs; the pattern only matters for files named by SKU.
    form.querySelector("[name=sku_pattern]").closest(".field").hidden = source === "folder";
  }

  async function preview(form) {
    const input = chosenInput(form);
    const target = form.querySelector("#batch-preview");
    if (!input.files.length) {
      target.innerHTML = "";
      return;
    }
    const data = new FormData();
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    data.append("source", form.querySelector("input[name=source]:checked").value);
    data.append("sku_pattern", form.querySelector("[name=sku_pattern]").value);
    for (const file of input.files) data.append("names", pathOf(file));
    const response = await fetch(form.dataset.previewUrl, { method: "POST", body: data, credentials: "same-origin" });
    target.innerHTML = response.ok ? await response.text() : "";
  }

  async function upload(form, event) {
    const input = chosenInput(form);
    if (!input.files.length) return; // nothing chosen: the server says what is missing
    event.preventDefault();
    const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    const status = form.querySelector("#batch-upload-progress");
    const bar = status.querySelector("progress");
    const label = status.querySelector("span");
    const fields = new FormData(form);
    fields.delete("files");
    const created = await fetch(form.action, { method: "POST", body: fields, credentials: "same-origin" });
    if (!created.redirected) {
      // The form has errors: let the server show them (without the files).
      form.querySelectorAll("input[type=file]").forEach((i) => (i.disabled = true));
      form.submit();
      return;
    }
    const batchUrl = new URL(created.url);
    const files = Array.from(input.files);
    status.hidden = false;
    bar.max = files.length;
    const refused = [];
    for (let i = 0; i < files.length; i += GROUP) {
      const group = new FormData();
      group.append("csrfmiddlewaretoken", token);
      for (const file of files.slice(i, i + GROUP)) {
        group.append("files", file, file.name);
        group.append("paths", pathOf(file));
      }
      const sent = await fetch(new URL("files/", batchUrl), { method: "POST", body: group, credentials: "same-origin" });
      const text = await sent.text();
      if (text.trim()) refused.push(text.trim());
      if (sent.status === 409) break;
      bar.value = Math.min(files.length, i + GROUP);
      label.textContent = `${bar.value} of ${files.length} files sent`;
    }
    if (refused.length) label.textContent += ` · not kept: ${refused.join("; ")}`;
    const done = new FormData();
    done.append("csrfmiddlewaretoken", token);
    await fetch(new URL("files/done/", batchUrl), { method: "POST", body: done, credentials: "same-origin" });
    window.location.assign(batchUrl);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-batch-upload]").forEach((form) => {
      syncSource(form);
      form.addEventListener("change", (event) => {
        if (event.target.name === "source") syncSource(form);
        if (event.target.type === "file" || event.target.name === "source") preview(form);
      });
      form.querySelector("[name=sku_pattern]").addEventListener("input", () => preview(form));
      form.addEventListener("submit", (event) => upload(form, event));
    });
  });
})();
