// Small progressive enhancements; every page works without them.

// "Select every contact on this page".
document.addEventListener("change", (event) => {
  if (!event.target.matches("[data-select-all]")) return;
  for (const box of document.querySelectorAll('input[name="contacts"]')) {
    box.checked = event.target.checked;
  }
});

// The menus: the Opt-In cells', the Opt-In Status header's and the Columns menu.
const MENUS = "details.opt-in-details, details.columns-menu, details.header-menu";
document.documentElement.classList.add("js");

// One menu open at a time; a click elsewhere closes it. A menu's button opens it here rather
// than by the browser's default, which would open it a moment later, out of its place: the
// menu is placed at once, and a Tab straight after Enter finds its first button.
document.addEventListener("click", (event) => {
  for (const menu of document.querySelectorAll(`:is(${MENUS})[open]`)) {
    if (!menu.contains(event.target)) menu.open = false;
  }
  const summary = event.target.closest?.("summary");
  const menu = summary?.parentElement;
  if (!menu?.matches(MENUS) || menu.querySelector(":scope > summary") !== summary) return;
  event.preventDefault();
  menu.open = !menu.open;
  if (menu.open) place(menu);
});

// An open menu is placed in the window, below its button (above it if there is no room
// below), and moved leftwards as far as it takes to stay clear of the right edge: drawn
// where the page put it, it ran past the window and was cut off by the table's box.
function place(menu) {
  const panel = menu.querySelector(":scope > :not(summary)");
  if (!panel) return;
  panel.classList.add("is-placed");
  const button = menu.querySelector(":scope > summary").getBoundingClientRect();
  const box = panel.getBoundingClientRect();
  const margin = 8;
  const right = document.documentElement.clientWidth - margin;
  const alignRight = menu.matches(".columns-menu");  // the last thing in its line
  const start = alignRight ? button.right - box.width : button.left;
  const left = Math.max(margin, Math.min(start, right - box.width));
  let top = button.bottom + 4;
  if (top + box.height > window.innerHeight - margin && button.top - box.height - 4 >= margin) {
    top = button.top - box.height - 4;
  }
  panel.style.left = `${left}px`;
  panel.style.top = `${top}px`;
}

// A tooltip likewise: above its icon, or below it at the top of the window.
function placeTooltip(item) {
  const tooltip = item.querySelector(":scope > .tooltip");
  if (!tooltip) return;
  tooltip.classList.add("is-placed");
  const icon = item.getBoundingClientRect();
  const box = tooltip.getBoundingClientRect();
  const margin = 8;
  const right = document.documentElement.clientWidth - margin;
  const centred = icon.left + icon.width / 2 - box.width / 2;
  const left = Math.max(margin, Math.min(centred, right - box.width));
  let top = icon.top - 8 - box.height;
  if (top < margin) top = icon.bottom + 8;
  tooltip.style.left = `${left}px`;
  tooltip.style.top = `${top}px`;
}
function showTooltip(event) {
  const item = event.target.closest?.(".opt-in-item");
  if (item) placeTooltip(item);
}
document.addEventListener("mouseover", showTooltip);
document.addEventListener("focusin", showTooltip);

function placeOpenMenusAndTooltips() {
  for (const menu of document.querySelectorAll(`:is(${MENUS})[open]`)) place(menu);
  for (const item of document.querySelectorAll(".opt-in-item:is(:hover, :focus-within)")) {
    placeTooltip(item);
  }
}
document.addEventListener("toggle", (event) => {
  if (!event.target.matches?.(MENUS)) return;
  if (event.target.open) place(event.target);
  else event.target.querySelector(":scope > .is-placed")?.classList.remove("is-placed");
}, true);
document.addEventListener("scroll", placeOpenMenusAndTooltips, { capture: true, passive: true });
window.addEventListener("resize", placeOpenMenusAndTooltips);

// Escape closes any open menu, its focus going back to the menu's button, and hides the
// tooltip being shown (WCAG 1.4.13), until the pointer and the focus have both left it.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const open = [...document.querySelectorAll("details[open]")];
  const menu = open.find((details) => details.contains(document.activeElement))
    ?? open.findLast((details) => details.matches(MENUS));
  for (const details of open) details.open = false;
  menu?.querySelector(":scope > summary")?.focus();
  for (const item of document.querySelectorAll(".opt-in-item:is(:hover, :focus-within)")) {
    item.classList.add("tooltip-dismissed");
  }
});
function forgetDismissal(event) {
  const item = event.target.closest?.(".tooltip-dismissed");
  if (!item || item.contains(event.relatedTarget)) return;
  const hovered = event.type !== "mouseout" && item.matches(":hover");
  const focused = event.type !== "focusout" && item.contains(document.activeElement);
  if (!hovered && !focused) item.classList.remove("tooltip-dismissed");
}
document.addEventListener("mouseout", forgetDismissal);
document.addEventListener("focusout", forgetDismissal);

// An in-place change swaps the whole Opt-In cell, and with it the focused button: the
// focus goes to the same channel's icon in the new cell, not back to the page's start.
let refocus = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  const cell = event.detail.target;
  const item = (event.detail.requestConfig?.elt ?? event.detail.elt)?.closest?.(".opt-in-item");
  const icon = item?.querySelector("[aria-describedby]");
  refocus = cell?.matches(".opt-in") && icon
    ? { cell: cell.id, tip: icon.getAttribute("aria-describedby") }
    : null;
});
document.addEventListener("htmx:afterSwap", () => {
  if (!refocus) return;
  const cell = document.getElementById(refocus.cell);
  const icon = cell && [...cell.querySelectorAll("[aria-describedby]")]
    .find((element) => element.getAttribute("aria-describedby") === refocus.tip);
  refocus = null;
  icon?.focus();
});

// The bulk bar's Tag chooser, for the tag actions only (the others ignore it).
function showTagChoice() {
  const action = document.getElementById("bulk-action");
  if (!action) return;
  const needsTag = action.selectedOptions[0]?.hasAttribute("data-needs-tag") ?? false;
  for (const element of document.querySelectorAll(".tag-choice")) element.hidden = !needsTag;
}
document.addEventListener("change", (event) => {
  if (event.target.id === "bulk-action") showTagChoice();
});
// Also when the browser restores the form's choices, coming back to the page.
window.addEventListener("pageshow", showTagChoice);
showTagChoice();

// The bulk bar's choices are checked before it is sent, as the server checks them: sent
// incomplete, the page came back with the ticked rows and the action forgotten.
function bulkProblem(form) {
  const action = form.elements.action;
  if (!action.value) return ["Choose an action in the Action list.", action];
  const tag = form.elements.tag;
  if (tag && !tag.value && action.selectedOptions[0].hasAttribute("data-needs-tag")) {
    const verb = action.value === "add_tag" ? "add" : "remove";
    return [`Choose the tag to ${verb}, in the Tag list beside the action.`, tag];
  }
  const ticked = document.querySelector('input[name="contacts"][form="bulk-form"]:checked');
  if (form.elements.scope.value === "selected" && !ticked) {
    const message = "Select at least one contact, or choose all contacts matching the filters.";
    return [message, form.elements.scope];
  }
  return null;
}
document.addEventListener("submit", (event) => {
  if (event.target.id !== "bulk-form") return;
  const problem = bulkProblem(event.target);
  const shown = document.getElementById("bulk-problem");
  shown.hidden = !problem;
  if (!problem) return;
  event.preventDefault();
  shown.textContent = problem[0];
  problem[1].focus();
});
