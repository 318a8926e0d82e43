// Behaviour that would otherwise be inline handlers, which the Content-Security-Policy forbids.
// A <select data-autosubmit> submits its form when changed (team switcher, job filter).
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLElement && field.matches("[data-autosubmit]") && field.form) {
    field.form.requestSubmit();
  }
});
