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

// Focus survives an htmx swap (a search, a page of results, an upload, the live wallboard):
// htmx itself puts it back on a new element with the focused one's id; when that one is gone
// or cannot take focus (a button now disabled), it goes to the nearest enclosing element with
// an id that came back, so a keyboard user goes on from where they were, not from <body>.
(() => {
  let path = [];

  function remember() {
    path = [];
    for (let e = document.activeElement; e && e !== document.body; e = e.parentElement) {
      if (e.id) {
        path.push(e.id);
      }
    }
  }

  function restore() {
    const lost = !document.activeElement || document.activeElement === document.body;
    const ids = path;
    path = [];
    if (!lost) {
      return;
    }
    for (const id of ids) {
      const e = document.getElementById(id);
      if (!e) {
        continue;
      }
      if (!e.matches("a[href], button, input, select, textarea, [tabindex]")) {
        e.setAttribute("tabindex", "-1");
      }
      e.focus();
      if (document.activeElement === e) {
        return;
      }
    }
  }

  document.addEventListener("htmx:beforeSwap", remember);
  document.addEventListener("htmx:sseBeforeMessage", remember);
  document.addEventListener("htmx:afterSwap", restore);
})();
