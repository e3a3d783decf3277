// Small behaviours the pages share; no inline scripts (the Content-Security-Policy forbids them).
"use strict";

// A form or button with data-confirm="…" asks before it is sent.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const button = event.submitter;
  const question = (button && button.dataset.confirm) || form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
