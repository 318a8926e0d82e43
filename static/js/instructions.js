// Instruction forms (wizard step 2, preset form): show only the fields that apply to the choices made.
// A control carrying data-when="<name>=<value>|<value>" (set by packshots/forms.py from the schema's style
// rules) applies only while the control <name> of its form holds one of those values: surface for flat lay,
// props and colour palette for marketing-ready, width and height for a custom size, the lighting parts when
// lighting is given by direction, quality and complexity. A field that does not apply is hidden and disabled,
// so it is not sent; if it still holds a value (or, per data-holds, an edited instruction's image or Design
// Value index the field cannot show), a line above the submit button says it will not be saved.
// Without JavaScript every field shows and the server refuses a value that does not apply (the size fields
// excepted: what the Size choice does not use is set aside, and the saved message says so).
(() => {
  "use strict";

  const decidingValue = (form, name) => {
    const control = form.elements.namedItem(name);
    return control && "value" in control ? control.value : "";
  };

  const labelOf = (control) =>
    (control.labels && control.labels[0] ? control.labels[0].textContent : control.name).trim();

  function noticeOf(form) {
    let notice = form.querySelector("[data-dropped-notice]");
    if (!notice) {
      notice = document.createElement("p");
      notice.className = "help dropped-notice";
      notice.dataset.droppedNotice = "";
      notice.setAttribute("role", "status");
      const submit = form.querySelector("button[type=submit], button:not([type])");
      form.insertBefore(notice, submit && submit.parentNode === form ? submit : null);
    }
    return notice;
  }

  function apply(form) {
    const controls = form.querySelectorAll("[data-when]");
    if (!controls.length) return;
    const dropped = [];
    for (const control of controls) {
      const rule = control.dataset.when;
      const split = rule.indexOf("=");
      const values = rule.slice(split + 1).split("|");
      const applies = values.includes(decidingValue(form, rule.slice(0, split)));
      const wrapper = control.closest(".field") || control;
      wrapper.hidden = !applies;
      control.disabled = !applies;
      if (applies) continue;
      if (control.value.trim() !== "") dropped.push(labelOf(control));
      else if (control.dataset.holds) dropped.push(`${labelOf(control)} (${control.dataset.holds})`);
    }
    const notice = noticeOf(form);
    notice.textContent = dropped.length
      ? `Not saved with these choices (hidden): ${dropped.join(", ")}.`
      : "";
    notice.hidden = !dropped.length;
  }

  const applyAll = (root) => {
    for (const form of root.querySelectorAll("form")) apply(form);
  };

  document.addEventListener("change", (event) => {
    const form = event.target instanceof Element ? event.target.closest("form") : null;
    if (form) apply(form);
  });
  // The wizard swaps its step with HTMX (an invalid form comes back with errors): apply the rules again.
  document.addEventListener("htmx:afterSettle", () => applyAll(document));
  applyAll(document);
})();
