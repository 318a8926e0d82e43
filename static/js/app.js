// Behaviour that would otherwise be inline handlers, which the Content-Security-Policy forbids.
// A <select data-autosubmit> submits its form when changed (team switcher, job filter).
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLElement && field.matches("[data-autosubmit]") && field.form) {
    field.form.requestSubmit();
  }
});

// Focus after an HTMX swap. When the swap removed the focused element (the form or card the user acted
// on was replaced), keyboard and screen-reader users would fall back to the page top: move focus to
// what changed instead: an error in the new content first, else the message the server sent, else the
// new content's heading or root. Polls and swaps that left focus in place change nothing.
const focusLost = () => {
  const active = document.activeElement;
  return !active || active === document.body || !active.isConnected;
};

const focusOn = (element) => {
  if (!element.matches("a[href], button, input, select, textarea, [tabindex]")) {
    element.setAttribute("tabindex", "-1");
  }
  element.focus();
};

document.addEventListener("htmx:afterSettle", (event) => {
  if (!focusLost()) return;
  let content = event.detail.target;
  // An outerHTML swap detaches the old target; the new root carries the same stable id.
  if (content && !content.isConnected && content.id) content = document.getElementById(content.id);
  const messages = document.getElementById("messages");
  const spot =
    content?.querySelector('[role="alert"], .error-summary, .error') ||
    (messages?.querySelector(".message") ? messages : null) ||
    content?.querySelector("h1, h2, h3") ||
    content ||
    document.getElementById("main");
  if (spot) focusOn(spot);
});

// Progress announcements: an element with data-announce-into="<id>" (the job status line, replaced by
// every poll) copies its text into that stable aria-live region, which screen readers then read out.
// Replacing a live region itself is not reliably announced, hence the copy.
document.addEventListener("htmx:afterSettle", () => {
  for (const source of document.querySelectorAll("[data-announce-into]")) {
    const region = document.getElementById(source.dataset.announceInto);
    const text = source.textContent.trim().replace(/\s+/g, " ");
    if (region && region.textContent !== text) region.textContent = text;
  }
});

// Destructive forms carry data-confirm="question": ask before they submit. Capture phase, so a cancelled
// submit never reaches htmx's own listener on the form. Without JavaScript the form simply submits.
document.addEventListener(
  "submit",
  (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopPropagation();
    }
  },
  true,
);
