// The wizard's photo step: drop many photos or whole folders onto it; each file is posted on its own to the
// step's upload URL (the same view as the form), with its own progress bar and Cancel button. Removing,
// reordering and notes stay on the cards the server renders. No inline code (the CSP forbids it).
(() => {
  "use strict";
  const queue = document.getElementById("upload-queue");
  if (!queue) return;
  const PHOTO = /\.(jpe?g|png|webp|heic|heif)$/i;
  const pending = [];
  let busy = false;

  const zoneOf = (node) => (node instanceof Element ? node.closest("[data-dropzone]") : null);
  const csrfToken = () => document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";

  // Folders: walk directory entries (readEntries answers in batches until it returns none).
  const readAll = (reader) =>
    new Promise((resolve) => {
      const found = [];
      const next = () =>
        reader.readEntries((batch) => (batch.length ? (found.push(...batch), next()) : resolve(found)), () => resolve(found));
      next();
    });

  async function filesOf(entry) {
    if (entry.isFile) return [await new Promise((resolve) => entry.file(resolve, () => resolve(null)))];
    if (!entry.isDirectory) return [];
    const nested = await Promise.all((await readAll(entry.createReader())).map(filesOf));
    return nested.flat();
  }

  function item(url, file) {
    const row = document.createElement("li");
    row.className = "upload-item";
    const name = Object.assign(document.createElement("span"), { className: "name", textContent: file.name });
    const bar = Object.assign(document.createElement("progress"), { max: 100, value: 0 });
    bar.setAttribute("aria-label", `Upload of ${file.name}`);
    const state = Object.assign(document.createElement("span"), { className: "state", textContent: "Waiting" });
    const cancel = Object.assign(document.createElement("button"), { type: "button", textContent: "Cancel" });
    cancel.setAttribute("aria-label", `Cancel the upload of ${file.name}`);
    row.append(name, bar, state, cancel);
    queue.append(row);
    const job = { file, row, bar, state, cancel, url, xhr: null, canceled: false };
    cancel.addEventListener("click", () => {
      job.canceled = true;
      // Once the whole body is sent the server may already have kept the photo: say so and show the cards.
      const sent = job.xhr && job.bar.value >= 100;
      job.xhr?.abort();
      finish(job, sent ? "Canceled late: it may have arrived, check the photos" : "Canceled", "canceled");
      if (sent) htmx.ajax("GET", job.url, { target: "#wizard-photos", swap: "outerHTML" });
    });
    return job;
  }

  function finish(job, text, outcome) {
    job.state.textContent = text;
    job.row.dataset.outcome = outcome;
    job.cancel.remove();
    if (outcome !== "uploaded") job.bar.remove();
  }

  function send(url, job) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      job.xhr = xhr;
      const body = new FormData();
      body.append("photos", job.file, job.file.name);
      xhr.open("POST", url);
      xhr.setRequestHeader("HX-Request", "true"); // the view answers with the step fragment
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) job.bar.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener("load", () => {
        const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        const refusals = [...page.querySelectorAll(".error[data-field=photos]")].map((p) => p.textContent.trim());
        if (xhr.status >= 400) finish(job, `Failed (${xhr.status})`, "failed");
        else if (refusals.length) finish(job, refusals.join(" "), "refused");
        else {
          job.bar.value = 100;
          finish(job, "Uploaded", "uploaded");
          // Show the new card: the server's step fragment, swapped and processed as an HTMX answer would be.
          const fresh = page.getElementById("wizard-photos");
          const target = document.getElementById("wizard-photos");
          if (fresh && target) htmx.swap(target, fresh.outerHTML, { swapStyle: "outerHTML" });
        }
        resolve();
      });
      xhr.addEventListener("error", () => (finish(job, "Network error: not uploaded", "failed"), resolve()));
      xhr.addEventListener("abort", () => resolve());
      job.state.textContent = "Uploading";
      xhr.send(body);
    });
  }

  // One file at a time: the server checks each photo against the job's limit in order.
  async function drain(url) {
    if (busy) return;
    busy = true;
    while (pending.length) {
      const job = pending.shift();
      if (!job.canceled) await send(url, job);
    }
    busy = false;
  }

  function enqueue(url, files) {
    const photos = files.filter((file) => file && (file.type.startsWith("image/") || PHOTO.test(file.name)));
    const skipped = files.length - photos.length;
    if (skipped) {
      const note = Object.assign(document.createElement("li"), {
        className: "upload-item",
        textContent: `Skipped ${skipped} file${skipped === 1 ? "" : "s"} that ${skipped === 1 ? "is not a photo" : "are not photos"}.`,
      });
      queue.append(note);
    }
    pending.push(...photos.map((file) => item(url, file)));
    drain(url);
  }

  // The folder picker (<input webkitdirectory>): its files go through the same queue.
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.matches("[data-folder-upload]")) return;
    const zone = zoneOf(input);
    if (zone) enqueue(zone.dataset.uploadUrl, [...input.files]);
    input.value = "";
  });

  // A file dropped beside the box (or once the job is full) must not make the browser open it and leave.
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");

  document.addEventListener("dragover", (event) => {
    const zone = zoneOf(event.target);
    if (!zone) {
      if (carriesFiles(event)) event.preventDefault();
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("dragging");
  });
  document.addEventListener("dragleave", (event) => {
    const zone = zoneOf(event.target);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", async (event) => {
    const zone = zoneOf(event.target);
    if (!zone) {
      if (carriesFiles(event)) event.preventDefault();
      return;
    }
    event.preventDefault();
    zone.classList.remove("dragging");
    // Entries must be taken before the first await: the DataTransfer empties when the handler yields.
    const entries = [...event.dataTransfer.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
    const direct = [...event.dataTransfer.files];
    const files = entries.length ? (await Promise.all(entries.map(filesOf))).flat() : direct;
    enqueue(zone.dataset.uploadUrl, files);
  });
})();
