// The member picker: as the lead types, ask the server for a few users whose name starts with
// what was typed (it answers only leads, only from 2 characters on) and offer them.
import "./confirm.js";

const input = document.getElementById("new-member");
const list = document.getElementById("user-matches");
const hint = document.getElementById("user-hint");
let timer = null;
let asked = "";

async function search() {
  const q = input.value.trim();
  if (q.length < Number(input.dataset.min) || q === asked) return;
  asked = q;
  const response = await fetch(`${input.dataset.search}?q=${encodeURIComponent(q)}`, {
    headers: { Accept: "application/json" },
  });
  if (!response.ok || q !== input.value.trim()) return;
  const { users } = await response.json();
  list.replaceChildren(
    ...users.map((u) => {
      const option = document.createElement("option");
      option.value = u.username;
      option.label = [u.name, u.member ? "already a member" : ""].filter(Boolean).join(" · ");
      return option;
    }),
  );
  hint.textContent = users.length
    ? `${users.length} match${users.length === 1 ? "" : "es"}: pick one, or keep typing.`
    : `No user's name starts with “${q}”. Invite them instead (on the right).`;
}

if (input) {
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
}
