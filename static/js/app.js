// Small progressive enhancements; every page works without them.

// "Select every contact on this page".
document.addEventListener("change", (event) => {
  if (!event.target.matches("[data-select-all]")) return;
  for (const box of document.querySelectorAll('input[name="contacts"]')) {
    box.checked = event.target.checked;
  }
});

// One Opt-In menu open at a time; Escape or a click elsewhere closes it.
document.addEventListener("click", (event) => {
  for (const menu of document.querySelectorAll("details.opt-in-details[open], details.columns-menu[open]")) {
    if (!menu.contains(event.target)) menu.open = false;
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const menu of document.querySelectorAll("details[open]")) menu.open = false;
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
