// What the flag queue's pages share: the "?" help dialog and the test of whether a key press
// is someone typing in a field.

export function isTyping(event) {
  return Boolean(event.target.matches?.("textarea, select, input:not([type=checkbox]):not([type=radio])"));
}

export function ignoredKey(event) {
  return event.ctrlKey || event.metaKey || event.altKey;
}

export function setUpHelp() {
  const help = document.getElementById("keys-help");
  const open = () => {
    if (help && !help.open) help.showModal();
  };
  document.querySelectorAll("[data-help]").forEach((b) => b.addEventListener("click", open));
  return open;
}

export function go(id) {
  const link = document.getElementById(id);
  if (link && link.href) window.location.href = link.href;
}
