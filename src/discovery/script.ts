/**
 * The page's script: a progressive enhancement, the page works without it. It searches while the
 * user types (debounced, through the JSON API), redraws the list with the same buttons the server
 * renders, announces the count in the status line (role="status", read out by screen readers),
 * and lets the arrow keys move between the search field and the results. Built with DOM methods
 * only: text from the API never becomes markup.
 */
import { resultsHeading, statusText } from './page.js';

const DEBOUNCE_MS = 200;

export const DISCOVERY_SCRIPT = `(function () {
"use strict";
var statusText = ${statusText.toString()};
var resultsHeading = ${resultsHeading.toString()};
function span(text, muted) {
  var s = document.createElement("span");
  if (muted) s.className = "muted";
  s.textContent = text;
  return s;
}
function item(r) {
  var b = document.createElement("button");
  b.type = "submit"; b.name = "idp"; b.value = r.id;
  if (r.unavailable) b.disabled = true;
  if (r.logo) {
    var img = document.createElement("img");
    img.src = r.logo; img.alt = ""; img.loading = "lazy"; img.width = 32; img.height = 32;
    img.style.objectFit = "contain";
    b.appendChild(img);
  }
  b.appendChild(span(r.name, false));
  if (r.domain) b.append(" ", span(r.domain, true));
  if (r.unavailable) b.append(" ", span("(temporarily unavailable)", true));
  var li = document.createElement("li");
  li.appendChild(b);
  return li;
}
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("search"), q = document.getElementById("q"), list = document.getElementById("idps"),
    status = document.getElementById("status"), heading = document.getElementById("results-heading");
  if (!form || !q || !list || !status || !heading || !window.fetch) return;
  var api = form.getAttribute("data-api"), limit = form.getAttribute("data-limit") || "20", timer = 0, latest = 0;
  function show(data, text) {
    list.textContent = "";
    data.results.forEach(function (r) { list.appendChild(item(r)); });
    heading.textContent = resultsHeading(data.total, data.results.length, text);
    status.textContent = statusText(data.total, data.results.length, text);
  }
  function search() {
    var text = q.value.trim(), mine = ++latest;
    fetch(api + "&q=" + encodeURIComponent(text) + "&limit=" + encodeURIComponent(limit), { headers: { accept: "application/json" }, credentials: "same-origin" })
      .then(function (res) { if (!res.ok) throw new Error("HTTP " + res.status); return res.json(); })
      .then(function (data) { if (mine === latest) show(data, text); })
      .catch(function () { if (mine === latest) status.textContent = "The search is not available right now. Press Search to try again."; });
  }
  q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, ${DEBOUNCE_MS}); });
  form.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(timer); search(); });
  function buttons() { return Array.prototype.slice.call(document.querySelectorAll("#choose button:not([disabled])")); }
  q.addEventListener("keydown", function (e) {
    if (e.key !== "ArrowDown") return;
    var first = buttons()[0];
    if (first) { e.preventDefault(); first.focus(); }
  });
  document.getElementById("choose").addEventListener("keydown", function (e) {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp" && e.key !== "Escape") return;
    var all = buttons(), at = all.indexOf(document.activeElement);
    if (at < 0) return;
    e.preventDefault();
    var next = e.key === "Escape" ? q : e.key === "ArrowDown" ? all[at + 1] : at === 0 ? q : all[at - 1];
    if (next) next.focus();
  });
});
})();
`;
