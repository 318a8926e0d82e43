// The job page's gallery (templates/packshots/_gallery_viewer.html): a viewer with zoom to 100 % and pan,
// keyboard navigation, a before/after slider against the input photo, decisions from the viewer, and the
// "selected" ZIP. No inline code (the CSP forbids it); polls replace cards out of band, so everything here
// finds cards again by their stable slot id instead of holding on to elements.
(() => {
  "use strict";
  const viewer = document.getElementById("viewer");
  const byId = (id) => document.getElementById(id);
  const image = byId("viewer-image");
  const before = byId("viewer-before");
  const stage = byId("viewer-stage");
  const viewport = byId("viewer-viewport");
  const compare = byId("viewer-compare");
  const split = byId("viewer-split");
  const inputChoice = byId("viewer-input");
  const view = { slot: null, scale: 1, x: 0, y: 0, width: 1, height: 1 };
  const MIN_SCALE = 0.05;
  const MAX_SCALE = 8;

  // Cards the viewer walks through: finished outputs that the status filter leaves visible.
  const cards = () =>
    [...document.querySelectorAll("figure[data-full]")].filter((card) => card.getClientRects().length > 0);

  function apply() {
    stage.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.scale})`;
    byId("viewer-scale").value = `${Math.round(view.scale * 100)}%`;
    viewer.dataset.scale = String(Math.round(view.scale * 100));
  }

  // Zoom about a point of the viewport (its centre by default), keeping that point of the image still.
  function zoomTo(scale, cx, cy) {
    const box = viewport.getBoundingClientRect();
    const px = cx ?? box.width / 2;
    const py = cy ?? box.height / 2;
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
    view.x = px - ((px - view.x) * next) / view.scale;
    view.y = py - ((py - view.y) * next) / view.scale;
    view.scale = next;
    apply();
  }

  function centre(scale) {
    const box = viewport.getBoundingClientRect();
    view.scale = scale;
    view.x = (box.width - view.width * scale) / 2;
    view.y = (box.height - view.height * scale) / 2;
    apply();
  }

  const fit = () => {
    const box = viewport.getBoundingClientRect();
    centre(Math.min(1, box.width / view.width, box.height / view.height));
  };

  function setImage(src, width, height, reset) {
    view.width = width || image.naturalWidth || 1;
    view.height = height || image.naturalHeight || 1;
    stage.style.width = `${view.width}px`;
    stage.style.height = `${view.height}px`;
    if (image.getAttribute("src") !== src) image.src = src;
    if (reset) fit();
  }

  // Show a card's output and facts; reset=false keeps zoom, pan, comparison and a half-typed reason.
  function show(card, reset) {
    view.slot = card.id;
    byId("viewer-title").textContent = card.dataset.name;
    image.alt = card.dataset.name;
    byId("viewer-facts").replaceChildren(card.querySelector("dl.facts")?.cloneNode(true) ?? "", versions(card));
    const form = card.querySelector("form.review-form");
    const review = byId("viewer-review"); // only for those who may decide
    if (review) {
      review.hidden = !form;
      review.querySelector("[data-decide=approved]").hidden = !form?.querySelector("[data-decision=approved]");
      if (reset) byId("viewer-reason").value = "";
    }
    setImage(card.dataset.full, Number(card.dataset.width), Number(card.dataset.height), reset);
  }

  // The latest version and the earlier ones the card links to, as buttons that swap the shown image.
  function versions(card) {
    const line = document.createElement("p");
    line.className = "viewer-versions";
    line.append("Versions:");
    const choices = [[card.dataset.full, `v${card.dataset.version} (latest)`]];
    card.querySelectorAll("a[data-version]").forEach((link) => choices.push([link.getAttribute("href"), `v${link.dataset.version}`]));
    for (const [src, label] of choices) {
      const button = document.createElement("button");
      Object.assign(button, { type: "button", className: "link", textContent: label });
      button.dataset.versionSrc = src;
      line.append(button);
    }
    return line;
  }

  function open(card) {
    show(card, true);
    if (!viewer.open) viewer.showModal();
    fit(); // the viewport has its size only once the dialog is shown
    viewer.querySelector("[data-close]").focus();
  }

  function step(delta) {
    const list = cards();
    if (!list.length) return;
    const at = list.findIndex((card) => card.id === view.slot);
    show(list[(at + delta + list.length) % list.length], true);
  }

  function setCompare(on) {
    compare.checked = on;
    before.hidden = !on;
    viewer.querySelector(".viewer-slider").hidden = !on;
    if (inputChoice) inputChoice.hidden = !on;
    if (on && inputChoice && before.getAttribute("src") !== inputChoice.value) before.src = inputChoice.value;
    image.style.clipPath = on ? `inset(0 0 0 ${split.value}%)` : "";
  }

  if (viewer) {
    document.addEventListener("click", (event) => {
      const link = event.target instanceof Element && event.target.closest("[data-viewer-open]");
      if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
        event.preventDefault();
        open(link.closest("figure"));
      }
    });

    viewer.addEventListener("click", (event) => {
      const target = event.target instanceof Element ? event.target.closest("button") : null;
      if (!target) return;
      if (target.matches("[data-close]")) viewer.close();
      else if (target.dataset.nav) step(target.dataset.nav === "next" ? 1 : -1);
      else if (target.dataset.zoom === "in") zoomTo(view.scale * 1.25);
      else if (target.dataset.zoom === "out") zoomTo(view.scale / 1.25);
      else if (target.dataset.zoom === "fit") fit();
      else if (target.dataset.zoom === "actual") centre(1);
      else if (target.dataset.versionSrc) setImage(target.dataset.versionSrc, view.width, view.height, false);
      else if (target.dataset.decide) decide(target.dataset.decide);
    });

    // The card's own form does the work (HTMX posts it), so both paths share one view and one answer.
    function decide(decision) {
      const card = byId(view.slot);
      const form = card?.querySelector("form.review-form");
      if (!form) return;
      form.querySelector("input[name=reason]").value = byId("viewer-reason").value;
      form.querySelector(`[data-decision=${decision}]`)?.click();
    }

    viewer.addEventListener("keydown", (event) => {
      const typing = event.target instanceof Element && event.target.matches("input:not([type=checkbox]), select, textarea");
      if (typing || event.altKey || event.ctrlKey || event.metaKey) return;
      const actions = {
        ArrowRight: () => step(1),
        ArrowLeft: () => step(-1),
        "+": () => zoomTo(view.scale * 1.25),
        "=": () => zoomTo(view.scale * 1.25),
        "-": () => zoomTo(view.scale / 1.25),
        0: fit,
        1: () => centre(1),
      };
      if (actions[event.key]) {
        event.preventDefault();
        actions[event.key]();
      }
    });

    // Focus goes back to the card the viewer was showing (a poll may have replaced it meanwhile).
    viewer.addEventListener("close", () => {
      setCompare(false);
      byId(view.slot)?.querySelector("[data-viewer-open]")?.focus();
    });

    viewport.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const box = viewport.getBoundingClientRect();
        zoomTo(view.scale * (event.deltaY < 0 ? 1.15 : 1 / 1.15), event.clientX - box.left, event.clientY - box.top);
      },
      { passive: false },
    );

    let drag = null;
    viewport.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX - view.x, y: event.clientY - view.y };
      viewport.setPointerCapture(event.pointerId);
      viewport.classList.add("dragging");
    });
    viewport.addEventListener("pointermove", (event) => {
      if (!drag) return;
      view.x = event.clientX - drag.x;
      view.y = event.clientY - drag.y;
      apply();
    });
    const drop = () => {
      drag = null;
      viewport.classList.remove("dragging");
    };
    viewport.addEventListener("pointerup", drop);
    viewport.addEventListener("pointercancel", drop);

    compare.addEventListener("change", () => setCompare(compare.checked));
    split.addEventListener("input", () => setCompare(true));
    inputChoice?.addEventListener("change", () => setCompare(true));
    image.addEventListener("load", () => {
      if (!view.width || view.width === 1) setImage(image.src, image.naturalWidth, image.naturalHeight, true);
    });

    // A poll or a decision replaced the card on show: refresh its facts, keep everything else.
    document.body.addEventListener("htmx:afterSettle", () => {
      const card = viewer.open && byId(view.slot);
      if (card?.dataset.full) show(card, false);
    });
  }

  // "Selected" downloads: the ticked cards' ids travel with the GET form (the boxes belong to the review form).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.downloadForm) return;
    form.querySelectorAll("input[data-picked]").forEach((input) => input.remove());
    if (form.elements.only.value !== "selected") return;
    const picked = document.querySelectorAll(`input[name=results][form="${form.dataset.downloadForm}"]:checked`);
    for (const box of picked) {
      const input = document.createElement("input");
      Object.assign(input, { type: "hidden", name: "results", value: box.value });
      input.dataset.picked = "";
      form.append(input);
    }
  });
})();
