/* django-voxtral workspace: the follow-along plus the waveform, the timeline, live progress,
 * editing (text, times, speakers, split, merge, find and replace) and the history of revisions.
 *
 * Every change goes to the REST API (the server keeps the rules and the revisions); this file
 * never decides what an edit means, and never fetches the media itself (the peaks come drawn).
 */
(function () {
  "use strict";

  var LIVE_POLL_MS = 2000;
  var NUDGE = 0.1; // seconds per click of a time's - / + button
  var TIMELINE_HEIGHT = 34; // CSS pixels

  var root = document.getElementById("voxtral-workspace");
  if (!root || !window.VoxtralFollow) return;
  var config = JSON.parse(document.getElementById("voxtral-workspace-config").textContent);
  var data = JSON.parse(document.getElementById("voxtral-data").textContent);
  var media = document.getElementById("voxtral-media");
  var wordsBox = document.getElementById("voxtral-words");
  var message = document.getElementById("voxtral-message");
  var csrfInput = root.querySelector("input[name=csrfmiddlewaretoken]");
  var api = config.urls.api;
  var fmt = window.VoxtralFollow.formatTime;
  var editing = null; // the index of the segment whose form is open

  function say(text, isError) {
    if (!message) return;
    message.textContent = text;
    message.classList.toggle("voxtral-error", !!isError);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  /* The API's answer as JSON; a 4xx becomes an Error whose message is the server's own words. */
  function call(method, url, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && csrfInput) headers["X-CSRFToken"] = csrfInput.value;
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        if (!response.ok) {
          var detail = (json && (json.detail || json.message)) || response.statusText;
          if (json && json.field) detail = json.field + ": " + detail;
          var error = new Error(detail);
          error.status = response.status;
          throw error;
        }
        return json;
      });
    });
  }

  function speakers() {
    var seen = {};
    var names = [];
    follow.segments.forEach(function (segment) {
      if (segment.speaker && !seen[segment.speaker]) {
        seen[segment.speaker] = true;
        names.push(segment.speaker);
      }
    });
    return names;
  }

  /* ---- editing a segment ------------------------------------------------------------- */

  function addControls(element, segment) {
    if (!config.canEdit) return;
    var head = element.querySelector(".voxtral-segment-head");
    var button = el("button", { type: "button", class: "voxtral-edit-button" }, "Edit");
    button.setAttribute("aria-label", "Edit segment " + segment.index + " at " + fmt(segment.start));
    button.addEventListener("click", function () { openEditor(segment.index); });
    head.appendChild(button);
  }

  function timeField(name, value, label) {
    var wrap = el("span", { class: "voxtral-time-field" });
    var input = el("input", {
      type: "number", name: name, step: "0.01", min: "0", value: String(value),
      "aria-label": label,
    });
    var minus = el("button", { type: "button", "aria-label": label + " -" + NUDGE + " s" }, "−");
    var plus = el("button", { type: "button", "aria-label": label + " +" + NUDGE + " s" }, "+");
    minus.addEventListener("click", function () {
      input.value = Math.max(0, Number(input.value) - NUDGE).toFixed(2);
    });
    plus.addEventListener("click", function () {
      input.value = (Number(input.value) + NUDGE).toFixed(2);
    });
    wrap.appendChild(el("span", {}, label + " "));
    wrap.appendChild(minus);
    wrap.appendChild(input);
    wrap.appendChild(plus);
    return wrap;
  }

  function openEditor(index) {
    closeEditor();
    var element = follow.segmentElement(index);
    var segment = follow.segments.filter(function (s) { return s.index === index; })[0];
    if (!element || !segment) return;
    editing = index;
    var form = el("form", { class: "voxtral-editor" });
    var text = el("textarea", { name: "text", rows: "3", "aria-label": "Text" });
    text.value = segment.text;
    form.appendChild(text);
    var times = el("div", { class: "voxtral-editor-times" });
    times.appendChild(timeField("start", segment.start, "start"));
    times.appendChild(timeField("end", segment.end, "end"));
    var speaker = el("input", {
      type: "text", name: "speaker", maxlength: "100", value: segment.speaker || "",
      list: "voxtral-speaker-names", "aria-label": "Speaker", placeholder: "speaker",
    });
    times.appendChild(speaker);
    form.appendChild(times);
    var names = el("datalist", { id: "voxtral-speaker-names" });
    speakers().forEach(function (name) { names.appendChild(el("option", { value: name })); });
    form.appendChild(names);
    var buttons = el("div", { class: "voxtral-editor-buttons" });
    var save = el("button", { type: "submit", class: "default" }, "Save");
    var cancel = el("button", { type: "button" }, "Cancel");
    var split = el("button", { type: "button" }, "Split at playhead");
    var merge = el("button", { type: "button" }, "Merge with next");
    [save, cancel, split, merge].forEach(function (b) { buttons.appendChild(b); });
    form.appendChild(buttons);
    cancel.addEventListener("click", closeEditor);
    split.addEventListener("click", function () {
      var at = media ? media.currentTime : (segment.start + segment.end) / 2;
      if (at <= segment.start || at >= segment.end) {
        say("Play or seek to a moment inside this segment (" + fmt(segment.start) + " – " +
          fmt(segment.end) + ") to split it there.", true);
        return;
      }
      call("POST", api + "segments/" + index + "/split/", { at: Number(at.toFixed(3)) })
        .then(function (answer) { return reload("Split (revision " + answer.revision + ")."); })
        .catch(function (error) { say(error.message, true); });
    });
    merge.addEventListener("click", function () {
      call("POST", api + "segments/" + index + "/merge/", {})
        .then(function (answer) { return reload("Merged (revision " + answer.revision + ")."); })
        .catch(function (error) { say(error.message, true); });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var changes = {};
      if (text.value !== segment.text) changes.text = text.value;
      var start = Number(form.elements.start.value);
      var end = Number(form.elements.end.value);
      if (Math.abs(start - segment.start) > 0.0005) changes.start = start;
      if (Math.abs(end - segment.end) > 0.0005) changes.end = end;
      if (speaker.value !== (segment.speaker || "")) changes.speaker = speaker.value;
      if (!Object.keys(changes).length) {
        closeEditor();
        return;
      }
      save.disabled = true;
      call("PATCH", api + "segments/" + index + "/", changes)
        .then(function (answer) {
          editing = null;
          follow.replaceSegment(answer);
          changed("Saved segment " + index + " (revision " + answer.revision + ").");
        })
        .catch(function (error) {
          save.disabled = false;
          say(error.message, true);
        });
    });
    form.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closeEditor();
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    element.classList.add("voxtral-editing");
    element.appendChild(form);
    text.focus();
  }

  function closeEditor() {
    if (editing === null) return;
    var element = follow.segmentElement(editing);
    editing = null;
    if (!element) return;
    element.classList.remove("voxtral-editing");
    var form = element.querySelector(".voxtral-editor");
    if (form) form.parentNode.removeChild(form);
  }

  /* The words as they are now on the server, after an edit that moved more than one segment. */
  function reload(done) {
    return call("GET", config.urls.data).then(function (fresh) {
      editing = null;
      follow.setData(fresh);
      changed(done);
    });
  }

  /* What shows the words besides the words themselves, after they changed. */
  function changed(done) {
    drawTimeline();
    refreshSpeakers();
    if (!history.hidden) showHistory();
    if (done) say(done);
  }

  /* ---- speakers and find / replace ------------------------------------------------------ */

  var speakerForm = document.getElementById("voxtral-speakers");
  var speakerList = document.getElementById("voxtral-speaker-list");

  function refreshSpeakers() {
    if (!speakerForm) return;
    var names = speakers();
    speakerForm.hidden = !names.length;
    speakerList.textContent = "";
    names.forEach(function (name) {
      var row = el("div", { class: "voxtral-speaker-row" });
      var input = el("input", { type: "text", value: name, maxlength: "100", "aria-label": "Rename " + name });
      var button = el("button", { type: "button" }, "Rename");
      button.addEventListener("click", function () {
        var to = input.value.trim();
        if (!to || to === name) return;
        call("POST", api + "speakers/rename/", { from: name, to: to })
          .then(function (answer) {
            return reload("Renamed " + name + " to " + to + " (revision " + answer.revision + ").");
          })
          .catch(function (error) { say(error.message, true); });
      });
      row.appendChild(input);
      row.appendChild(button);
      speakerList.appendChild(row);
    });
  }

  var replaceForm = document.getElementById("voxtral-replace");
  if (replaceForm) {
    replaceForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = {
        find: replaceForm.elements.find.value,
        replace: replaceForm.elements.replace.value,
        match_case: replaceForm.elements.match_case.checked,
      };
      call("POST", api + "replace/", body)
        .then(function (answer) {
          if (!answer.replaced) {
            say("No “" + body.find + "” in this transcript; nothing changed.");
            return null;
          }
          return reload("Replaced " + answer.replaced + " (revision " + answer.revision + ").");
        })
        .catch(function (error) { say(error.message, true); });
    });
  }

  /* ---- history ------------------------------------------------------------------------ */

  var history = document.getElementById("voxtral-history");
  var historyButton = document.getElementById("voxtral-history-button");

  function describeChange(change) {
    var where = change.index !== undefined && change.index !== null ? "#" + change.index + " " : "";
    return where + change.field + ": " + JSON.stringify(change.before) + " → " + JSON.stringify(change.after);
  }

  function showHistory() {
    return call("GET", api + "revisions/").then(function (revisions) {
      var list = revisions.results || revisions;
      history.textContent = "";
      history.appendChild(el("h2", {}, "History"));
      if (!list.length) {
        history.appendChild(el("p", {}, "No edits yet: this is the machine's transcript."));
      }
      var ol = el("ul", { class: "voxtral-revisions" });
      list.forEach(function (revision) {
        var item = el("li", { class: "voxtral-revision", "data-revision": String(revision.number) });
        var when = revision.created ? new Date(revision.created).toLocaleString() : "";
        item.appendChild(el("strong", {}, "Revision " + revision.number));
        item.appendChild(el("span", {}, " · " + (revision.author || "the machine") + " · " + when));
        item.appendChild(el("div", {}, revision.summary || ""));
        if (revision.changes && revision.changes.length) {
          var details = el("details");
          details.appendChild(el("summary", {}, revision.changes.length + " change(s)"));
          var ul = el("ul");
          revision.changes.slice(0, 50).forEach(function (change) {
            ul.appendChild(el("li", {}, describeChange(change)));
          });
          details.appendChild(ul);
          item.appendChild(details);
        }
        if (config.canEdit) {
          var restore = el("button", { type: "button", class: "voxtral-restore" }, "Restore");
          restore.addEventListener("click", function () {
            call("POST", api + "revisions/" + revision.number + "/restore/", {})
              .then(function (answer) {
                return reload("Restored revision " + revision.number + " (now revision " +
                  answer.number + ").");
              })
              .catch(function (error) { say(error.message, true); });
          });
          item.appendChild(restore);
        }
        ol.appendChild(item);
      });
      history.appendChild(ol);
      history.hidden = false;
    }).catch(function (error) { say(error.message, true); });
  }

  if (historyButton) {
    historyButton.addEventListener("click", function () {
      if (!history.hidden) {
        history.hidden = true;
        return;
      }
      showHistory();
    });
  }

  /* ---- waveform and timeline ---------------------------------------------------------- */

  var timeline = document.getElementById("voxtral-timeline");
  /* The transcript's duration, else the media's own once its metadata is in. */
  function totalSeconds() {
    return data.duration || (media && media.duration) || 0;
  }

  function drawTimeline() {
    if (!timeline || !timeline.getContext) return;
    var total = totalSeconds();
    var width = timeline.clientWidth || 600;
    var height = TIMELINE_HEIGHT;
    var ratio = window.devicePixelRatio || 1;
    // Resizing the canvas clears it too; every draw paints the whole strip.
    timeline.width = Math.round(width * ratio);
    timeline.height = Math.round(height * ratio);
    var g = timeline.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    if (!total) return;
    var x = function (t) { return (t / total) * width; };
    // Speech: the segments' spans.
    g.fillStyle = "rgba(31, 111, 178, 0.35)";
    follow.segments.forEach(function (s) {
      g.fillRect(x(s.start), 4, Math.max(1, x(s.end) - x(s.start)), 10);
    });
    // Where the chunks were cut.
    g.fillStyle = "#8d6e63";
    (config.chunks || []).forEach(function (chunk, i) {
      if (i) g.fillRect(Math.round(x(chunk[0])), 2, 1, 14);
    });
    // Ticks and labels.
    g.fillStyle = "#666";
    g.font = "10px sans-serif";
    var step = [1, 5, 10, 30, 60, 300, 600, 1800, 3600].filter(function (s) {
      return (total / s) <= width / 60;
    })[0] || 3600;
    for (var t = 0; t <= total; t += step) {
      g.fillRect(Math.round(x(t)), 18, 1, 4);
      g.fillText(fmt(t), Math.min(x(t) + 2, width - 30), 32);
    }
    // The playhead.
    if (media) {
      g.fillStyle = "#c62828";
      g.fillRect(Math.round(x(media.currentTime || 0)), 0, 2, height);
    }
  }

  if (timeline) {
    timeline.addEventListener("click", function (event) {
      var total = totalSeconds();
      if (!total) return;
      var box = timeline.getBoundingClientRect();
      follow.seek(((event.clientX - box.left) / box.width) * total);
      drawTimeline();
    });
    window.addEventListener("resize", drawTimeline);
  }

  function startWaveform() {
    if (!api || !window.WaveSurfer || !media) return;
    call("GET", api + "peaks/")
      .then(function (answer) {
        window.VoxtralWaveform = window.WaveSurfer.create({
          container: "#voxtral-waveform",
          media: media,
          peaks: answer.peaks,
          duration: answer.duration,
          height: 64,
          normalize: true,
          waveColor: "#9bb8d3",
          progressColor: "#1f6fb2",
          cursorColor: "#c62828",
          cursorWidth: 2,
          dragToSeek: true,
        });
      })
      .catch(function () {
        /* no peaks yet (the media was not split): the timeline below still shows speech */
      });
  }

  /* ---- live progress ------------------------------------------------------------------ */

  var lastArrived = "";

  function poll() {
    call("GET", api)
      .then(function (detail) {
        var bar = document.getElementById("voxtral-live-bar");
        var status = document.getElementById("voxtral-live-status");
        var parts = [detail.status];
        if (detail.chunks_total) parts.push(detail.chunks_done + " of " + detail.chunks_total + " chunks");
        if (detail.eta_seconds !== null && detail.eta_seconds !== undefined) {
          parts.push("about " + fmt(detail.eta_seconds) + " left");
        }
        if (bar) bar.value = detail.progress || 0;
        if (status) status.textContent = parts.join(" · ");
        // Drawn again only when a chunk brought words: the reader's scroll stays between them.
        var arrived = detail.partial ? detail.partial.segments.length + ":" + detail.partial.text.length : "";
        if (detail.partial && detail.partial.segments && arrived !== lastArrived) {
          lastArrived = arrived;
          follow.setData({
            segments: detail.partial.segments.map(function (s, i) {
              return { index: i, start: s.start, end: s.end, text: s.text, speaker: s.speaker || "", words: [] };
            }),
          });
          drawTimeline();
        }
        if (detail.status === "queued" || detail.status === "running") {
          window.setTimeout(poll, LIVE_POLL_MS);
        } else {
          // Finished: the page again, with the whole result and the editor if it is done.
          window.location.reload();
        }
      })
      .catch(function (error) {
        say(error.message + " (retrying)", true);
        window.setTimeout(poll, LIVE_POLL_MS * 3);
      });
  }

  /* ---- start ------------------------------------------------------------------------- */

  var follow = new window.VoxtralFollow(wordsBox, media, data, { keys: true, onSegment: addControls });
  wordsBox.voxtralFollow = follow;
  window.voxtralWorkspace = { follow: follow, config: config, reload: reload };
  follow.seekWhenReady(window.VoxtralFollow.startTime());
  refreshSpeakers();
  drawTimeline();
  startWaveform();
  if (media) {
    var rate = document.getElementById("voxtral-rate");
    media.addEventListener("ratechange", function () {
      if (rate) rate.textContent = "×" + media.playbackRate;
    });
    ["timeupdate", "seeked", "loadedmetadata"].forEach(function (name) {
      media.addEventListener(name, drawTimeline);
    });
  }
  if (config.live && api) window.setTimeout(poll, LIVE_POLL_MS / 2);
  if (window.performance && performance.mark) performance.mark("voxtral-workspace-ready");
})();
