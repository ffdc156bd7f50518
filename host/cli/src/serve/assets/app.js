// Baton's web inbox: keys on the focus page (as in `host focus`) and live updates
// from the server's events. The pages work without it; it only saves clicks.
"use strict";

function typing(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function openPanel(id) {
  for (const panel of document.querySelectorAll(".panel")) {
    panel.hidden = panel.id !== id;
  }
  const panel = document.getElementById(id);
  const field = panel && panel.querySelector("textarea, input[type=text]");
  if (field) field.focus();
}

function closePanels() {
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = true;
  if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
}

function submit(form) {
  if (!form) return;
  const button = form.querySelector("button[type=submit]");
  if (button && button.disabled) return;
  form.requestSubmit();
}

document.addEventListener("click", (event) => {
  const opener = event.target instanceof Element && event.target.closest("[data-open]");
  if (opener) openPanel(opener.getAttribute("data-open"));
});

document.addEventListener("keydown", (event) => {
  if (!document.getElementById("decision")) return;
  if (event.key === "Escape") { closePanels(); return; }
  if (typing(event.target)) {
    // Ctrl+Enter (or Cmd+Enter) sends the edit from inside its text area.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form) {
      event.preventDefault();
      submit(event.target.form);
    }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  // A focused button or link answers Enter itself.
  if (event.key === "Enter" && event.target instanceof HTMLElement &&
      ["BUTTON", "A", "SUMMARY"].includes(event.target.tagName)) return;
  const form = document.querySelector(`form[data-key="${CSS.escape(event.key)}"]`);
  if (form) { event.preventDefault(); submit(form); return; }
  const actions = { e: "edit-panel", r: "reject-panel" };
  if (actions[event.key] && document.getElementById(actions[event.key])) {
    event.preventDefault();
    openPanel(actions[event.key]);
  } else if (event.key === "s") {
    const skip = document.getElementById("skip");
    if (skip) { event.preventDefault(); skip.click(); }
  }
});

// Live updates: on each change, fetch this page again and swap in what changed.
// A decision being read is never swapped away; its count is updated instead.
async function refresh() {
  const response = await fetch(location.href, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const next = new DOMParser().parseFromString(await response.text(), "text/html");
  const showing = document.getElementById("decision");
  const live = document.getElementById("live");
  if (showing) {
    const position = next.getElementById("position");
    if (position) document.getElementById("position").textContent = position.textContent;
    if (live) live.textContent = "The inbox changed.";
    return;
  }
  const main = next.getElementById("main");
  if (main) document.getElementById("main").replaceWith(main);
  if (live) live.textContent = "Updated.";
}

if (window.EventSource && document.body.dataset.page !== "login") {
  let pending = null;
  const source = new EventSource("/events");
  source.addEventListener("change", () => {
    clearTimeout(pending);
    pending = setTimeout(() => refresh().catch(() => {}), 100);
  });
}
