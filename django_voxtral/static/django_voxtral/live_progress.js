/* django-voxtral admin list: rows of queued and running transcripts update by themselves.
 *
 * Each such row's progress cell names the API URL to poll (data-voxtral-poll); the row shows
 * chunks done of total, the time left and the end of the text so far. Reads only, never writes;
 * a row stops polling once its transcript is finished, and at most MAX_ROWS rows poll at once.
 */
(function () {
  "use strict";

  var POLL_MS = 3000;
  var MAX_ROWS = 25;
  var TEXT_TAIL = 160; // characters of the text so far shown under the bar

  function formatTime(seconds) {
    var s = Math.max(0, Math.round(seconds));
    var m = Math.floor(s / 60);
    return (m ? m + " min " : "") + (s % 60) + " s";
  }

  function label(status) {
    return status.charAt(0).toUpperCase() + status.slice(1);
  }

  function update(cell, detail) {
    var row = cell.closest("tr");
    var bar = cell.querySelector("progress");
    var text = cell.querySelector(".voxtral-progress-text");
    var parts = [(detail.progress || 0) + "%"];
    if (detail.chunks_total) parts.push(detail.chunks_done + "/" + detail.chunks_total + " chunks");
    if (detail.eta_seconds !== null && detail.eta_seconds !== undefined) {
      parts.push("~" + formatTime(detail.eta_seconds) + " left");
    }
    if (bar) bar.value = detail.progress || 0;
    if (text) text.textContent = parts.join(" · ");
    var partial = cell.querySelector(".voxtral-partial");
    var so_far = detail.partial && detail.partial.text ? detail.partial.text : "";
    if (so_far) {
      if (!partial) {
        partial = document.createElement("div");
        partial.className = "voxtral-partial";
        cell.appendChild(partial);
      }
      partial.textContent = (so_far.length > TEXT_TAIL ? "…" : "") + so_far.slice(-TEXT_TAIL);
    } else if (partial && detail.partial) {
      partial.textContent = "";
    }
    var badge = row ? row.querySelector(".voxtral-badge") : null;
    if (badge && detail.status) {
      badge.className = "voxtral-badge voxtral-" + detail.status;
      badge.textContent = label(detail.status);
      if (detail.error) badge.title = detail.error.slice(0, 300);
    }
    if (detail.status !== "queued" && detail.status !== "running") {
      cell.removeAttribute("data-voxtral-poll");
      if (partial && partial.parentNode) partial.parentNode.removeChild(partial);
    }
  }

  function poll() {
    var cells = Array.prototype.slice.call(document.querySelectorAll("[data-voxtral-poll]"), 0, MAX_ROWS);
    if (!cells.length) return;
    Promise.all(cells.map(function (cell) {
      return fetch(cell.getAttribute("data-voxtral-poll"), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (detail) { if (detail) update(cell, detail); })
        .catch(function () { /* the next poll tries again */ });
    })).then(function () { window.setTimeout(poll, POLL_MS); });
  }

  function start() {
    if (document.querySelector("[data-voxtral-poll]")) window.setTimeout(poll, POLL_MS / 3);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
