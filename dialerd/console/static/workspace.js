// The workspace: opens the contact in the CRM on each new call if the agent chose so (kept in
// this browser), counts down the after-call work's limit, and keeps the focus of a date or
// time field in the result form across the event stream's redraws.
"use strict";

(() => {
  const AUTO = "dialerd.workspace.autoCrm";
  let opened = null; // the attempt whose CRM link was opened last

  function popped() {
    const contact = document.getElementById("ws-contact");
    const box = document.getElementById("ws-auto-crm");
    if (!contact || !box || !box.checked || !contact.dataset.crm) {
      return;
    }
    if (contact.dataset.attempt !== opened) {
      opened = contact.dataset.attempt;
      window.open(contact.dataset.crm, "_blank", "noopener");
    }
  }

  function countdown() {
    const el = document.getElementById("ws-limit");
    if (el) {
      const left = Math.max(0, Math.round(Number(el.dataset.ends) - Date.now() / 1000));
      el.textContent = `ready by itself in ${left} s`;
    }
  }

  // The result form is kept as it is when the stream redraws the workspace (hx-preserve), and
  // a focused field with it; but Chromium then leaves a date or time field's focus on the
  // field instead of on one of its parts, and the next Tab stops inside it without a focus
  // ring. Focused again, it is as before the redraw.
  function refocus() {
    const field = document.activeElement;
    if (field && field.matches(".ws-result-form input:is([type='date'], [type='time'])")) {
      field.blur();
      field.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const box = document.getElementById("ws-auto-crm");
    if (box) {
      box.checked = localStorage.getItem(AUTO) === "1";
      box.addEventListener("change", () => localStorage.setItem(AUTO, box.checked ? "1" : "0"));
    }
    const current = document.getElementById("ws-contact");
    opened = current ? current.dataset.attempt : null; // a reload does not open it again
    document.body.addEventListener("htmx:afterSwap", () => {
      refocus();
      popped();
      countdown();
    });
    setInterval(countdown, 1000);
    countdown();
  });
})();
