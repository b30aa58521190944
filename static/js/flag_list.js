// The flag queue: filters apply on change; a click anywhere on a row opens its review.
document.querySelectorAll("#flag-filters select").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
document.querySelectorAll("tr.clickable").forEach((row) => {
  row.addEventListener("click", (event) => {
    if (event.target.closest("a")) return;
    window.location.href = row.dataset.href;
  });
});
