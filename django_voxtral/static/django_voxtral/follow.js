/* django-voxtral follow-along: a transcript's words beside its playing media, the spoken word lit.
 *
 * Renders the words in windows of segments as they come near the view (a 3-hour transcript is
 * never 30,000 nodes at once); never fetches anything nor changes a transcript (workspace.js
 * edits through the API). Every `[data-voxtral-follow]` element is started on its own.
 */
(function () {
  "use strict";

  var WINDOW_SEGMENTS = 25; // segments rendered together when their window comes near the view
  var FOLLOW_PAUSE_MS = 4000; // after the reader scrolls, the view stops following for a while
  var SEEK_STEP = 5; // seconds, for the arrow keys and j / l
  var RATES = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];

  function formatTime(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    var mm = (h && m < 10 ? "0" : "") + m;
    return (h ? h + ":" : "") + mm + ":" + (sec < 10 ? "0" : "") + sec;
  }

  /* A segment's words; one without word times gets its text's words spread over its span
   * (for display and seeking only: nothing is stored). */
  function wordsOf(segment) {
    if (segment.words && segment.words.length) return segment.words;
    var parts = String(segment.text || "").split(/\s+/).filter(Boolean);
    var span = Math.max(0, segment.end - segment.start);
    return parts.map(function (text, i) {
      return {
        start: segment.start + (span * i) / parts.length,
        end: segment.start + (span * (i + 1)) / parts.length,
        text: text,
      };
    });
  }

  /* Where time t falls in sorted starts: the last index whose start is <= t, or -1. */
  function lastAtOrBefore(starts, t) {
    var lo = 0;
    var hi = starts.length - 1;
    var found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  function isTyping(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  /**
   * new VoxtralFollow(container, media, data, options)
   *   container: the scrolling element the words go in; media: an <audio> or <video>;
   *   data: {segments: [{index, start, end, text, speaker, words: [{start, end, text}]}]};
   *   options.keys: answer the player's keys on the page; options.onSegment(element, segment):
   *   called each time a segment is rendered (the workspace adds its editing controls there).
   */
  function VoxtralFollow(container, media, data, options) {
    this.container = container;
    this.media = media;
    this.options = options || {};
    this.current = null;
    this.followPausedUntil = 0;
    this.frame = null;
    container.classList.add("voxtral-follow");
    container.setAttribute("role", container.getAttribute("role") || "region");
    this._bind();
    this.setData(data);
  }

  VoxtralFollow.formatTime = formatTime;

  VoxtralFollow.prototype.setData = function (data) {
    this.segments = (data && data.segments) || [];
    this._index();
    this._layout();
    this.update(true);
  };

  /* Flat, sorted arrays of every word's start and its place, for a binary search per frame. */
  VoxtralFollow.prototype._index = function () {
    var starts = [];
    var places = [];
    this.segmentWords = this.segments.map(wordsOf);
    for (var s = 0; s < this.segments.length; s++) {
      var words = this.segmentWords[s];
      for (var w = 0; w < words.length; w++) {
        starts.push(Number(words[w].start));
        places.push([s, w]);
      }
    }
    // Segments are in time order and words within them; a nudged time can break that, and
    // only then is a sort needed (it is most of this function's time on a long transcript).
    var order = starts.map(function (_, i) { return i; });
    var sorted = true;
    for (var k = 1; k < starts.length && sorted; k++) sorted = starts[k - 1] <= starts[k];
    if (!sorted) order.sort(function (a, b) { return starts[a] - starts[b] || a - b; });
    this.wordStarts = new Float64Array(order.length);
    this.wordPlaces = new Array(order.length);
    for (var i = 0; i < order.length; i++) {
      this.wordStarts[i] = starts[order[i]];
      this.wordPlaces[i] = places[order[i]];
    }
  };

  /* One empty placeholder per window, as tall as its text will roughly be; each is filled
   * when it comes within a screen of the view. */
  VoxtralFollow.prototype._layout = function () {
    var self = this;
    if (this.observer) this.observer.disconnect();
    this.container.textContent = "";
    this.windows = [];
    this.segmentElements = new Array(this.segments.length);
    this.wordElements = new Array(this.segments.length);
    if (!this.segments.length) {
      var empty = document.createElement("p");
      empty.className = "voxtral-empty";
      empty.textContent = this.container.getAttribute("data-voxtral-empty") || "No words yet.";
      this.container.appendChild(empty);
      return;
    }
    for (var first = 0; first < this.segments.length; first += WINDOW_SEGMENTS) {
      var box = document.createElement("div");
      box.className = "voxtral-window";
      box.setAttribute("data-window", String(this.windows.length));
      var chars = 0;
      var last = Math.min(first + WINDOW_SEGMENTS, this.segments.length);
      for (var s = first; s < last; s++) chars += String(this.segments[s].text || "").length + 40;
      box.style.minHeight = Math.max(2, Math.ceil(chars / 70) * 1.6) + "em";
      this.container.appendChild(box);
      this.windows.push({ element: box, first: first, last: last, rendered: false });
    }
    if ("IntersectionObserver" in window) {
      this.observer = new IntersectionObserver(
        function (entries) {
          entries.forEach(function (entry) {
            if (entry.isIntersecting) {
              self.renderWindow(Number(entry.target.getAttribute("data-window")));
            }
          });
        },
        { root: this.container, rootMargin: "100% 0px" }
      );
      this.windows.forEach(function (w) { self.observer.observe(w.element); });
    } else {
      for (var i = 0; i < this.windows.length; i++) this.renderWindow(i);
    }
  };

  VoxtralFollow.prototype.renderWindow = function (n) {
    var win = this.windows[n];
    if (!win || win.rendered) return;
    win.rendered = true;
    var fragment = document.createDocumentFragment();
    for (var s = win.first; s < win.last; s++) fragment.appendChild(this._segmentElement(s));
    win.element.textContent = "";
    win.element.appendChild(fragment);
    win.element.style.minHeight = "";
    if (this.observer) this.observer.unobserve(win.element);
    if (!this.firstWords && window.performance && performance.mark) {
      // For the benchmark (bench/workspace.py): when the first words could be read and clicked.
      this.firstWords = true;
      performance.mark("voxtral-follow-first-words");
    }
  };

  VoxtralFollow.prototype._segmentElement = function (s) {
    var segment = this.segments[s];
    var element = document.createElement("div");
    element.className = "voxtral-segment";
    element.setAttribute("data-index", String(segment.index));
    element.setAttribute("data-start", String(segment.start));
    element.setAttribute("data-end", String(segment.end));

    var head = document.createElement("div");
    head.className = "voxtral-segment-head";
    var time = document.createElement("button");
    time.type = "button";
    time.className = "voxtral-time";
    time.setAttribute("data-start", String(segment.start));
    time.textContent = formatTime(segment.start);
    time.title = formatTime(segment.start) + " – " + formatTime(segment.end);
    head.appendChild(time);
    if (segment.speaker) {
      var speaker = document.createElement("span");
      speaker.className = "voxtral-speaker";
      speaker.textContent = segment.speaker;
      head.appendChild(speaker);
    }
    element.appendChild(head);

    var text = document.createElement("p");
    text.className = "voxtral-text";
    var spans = [];
    var words = this.segmentWords[s];
    for (var w = 0; w < words.length; w++) {
      if (w) text.appendChild(document.createTextNode(" "));
      var span = document.createElement("span");
      span.className = "voxtral-word";
      span.setAttribute("data-start", String(words[w].start));
      span.setAttribute("data-end", String(words[w].end));
      span.textContent = String(words[w].text).trim();
      text.appendChild(span);
      spans.push(span);
    }
    element.appendChild(text);
    this.segmentElements[s] = element;
    this.wordElements[s] = spans;
    if (this.options.onSegment) this.options.onSegment(element, segment, s);
    return element;
  };

  /* Put a segment's new state in place (after an edit) without rebuilding the rest. */
  VoxtralFollow.prototype.replaceSegment = function (segment) {
    for (var s = 0; s < this.segments.length; s++) {
      if (this.segments[s].index === segment.index) {
        this.segments[s] = segment;
        this._index();
        var old = this.segmentElements[s];
        if (old && old.parentNode) old.parentNode.replaceChild(this._segmentElement(s), old);
        this.current = null;
        this.update(false);
        return;
      }
    }
  };

  VoxtralFollow.prototype.segmentElement = function (index) {
    for (var s = 0; s < this.segments.length; s++) {
      if (this.segments[s].index === index) {
        this._ensureRendered(s);
        return this.segmentElements[s];
      }
    }
    return null;
  };

  VoxtralFollow.prototype._ensureRendered = function (s) {
    if (!this.segmentElements[s]) this.renderWindow(Math.floor(s / WINDOW_SEGMENTS));
  };

  VoxtralFollow.prototype.seek = function (seconds) {
    var t = Math.max(0, Number(seconds) || 0);
    if (this.media) {
      try {
        this.media.currentTime = t;
      } catch (e) {
        /* not seekable yet: the deep link is applied once the metadata arrives */
      }
    }
    this.followPausedUntil = 0;
    this.update(true, t);
  };

  /* Light the word being spoken (aria-current) and keep it in view unless the reader scrolled. */
  VoxtralFollow.prototype.update = function (force, at) {
    var t = at !== undefined ? at : this.media ? this.media.currentTime : 0;
    var i = lastAtOrBefore(this.wordStarts, t + 0.001);
    var place = i >= 0 ? this.wordPlaces[i] : null;
    var key = place ? place[0] + ":" + place[1] : null;
    if (key === this.currentKey && !force) return;
    this.currentKey = key;
    if (this.current) {
      this.current.removeAttribute("aria-current");
      this.current = null;
    }
    if (!place) return;
    this._ensureRendered(place[0]);
    var span = this.wordElements[place[0]] && this.wordElements[place[0]][place[1]];
    if (!span) return;
    span.setAttribute("aria-current", "true");
    this.current = span;
    if (Date.now() >= this.followPausedUntil) this._keepInView(span);
  };

  VoxtralFollow.prototype._keepInView = function (element) {
    var box = this.container.getBoundingClientRect();
    var rect = element.getBoundingClientRect();
    if (rect.top >= box.top + 8 && rect.bottom <= box.bottom - 8) return;
    this.container.scrollTop += rect.top - box.top - this.container.clientHeight / 3;
  };

  VoxtralFollow.prototype._tick = function () {
    var self = this;
    this.update(false);
    if (this.media && !this.media.paused) {
      this.frame = window.requestAnimationFrame(function () { self._tick(); });
    } else {
      this.frame = null;
    }
  };

  VoxtralFollow.prototype.setRate = function (direction) {
    if (!this.media) return;
    var at = RATES.indexOf(this.media.playbackRate);
    if (at < 0) at = RATES.indexOf(1);
    at = Math.max(0, Math.min(RATES.length - 1, at + direction));
    this.media.playbackRate = RATES[at];
  };

  VoxtralFollow.prototype.handleKey = function (event) {
    if (!this.media || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) {
      return false;
    }
    var key = event.key;
    if (key === " " || key === "k") {
      if (event.target && event.target.tagName === "BUTTON" && key === " ") return false;
      if (this.media.paused) this.media.play();
      else this.media.pause();
    } else if (key === "ArrowLeft" || key === "j") {
      this.seek(this.media.currentTime - SEEK_STEP);
    } else if (key === "ArrowRight" || key === "l") {
      this.seek(this.media.currentTime + SEEK_STEP);
    } else if (key === "[" || key === "-") {
      this.setRate(-1);
    } else if (key === "]" || key === "+" || key === "=") {
      this.setRate(1);
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  };

  VoxtralFollow.prototype._bind = function () {
    var self = this;
    this.container.addEventListener("click", function (event) {
      var target = event.target.closest ? event.target.closest(".voxtral-word, .voxtral-time") : null;
      if (!target || !self.container.contains(target)) return;
      self.seek(Number(target.getAttribute("data-start")));
    });
    ["wheel", "touchmove"].forEach(function (name) {
      self.container.addEventListener(name, function () {
        self.followPausedUntil = Date.now() + FOLLOW_PAUSE_MS;
      }, { passive: true });
    });
    if (!this.media) return;
    this.media.addEventListener("play", function () {
      self.followPausedUntil = 0;
      if (!self.frame) self._tick();
    });
    ["timeupdate", "seeked"].forEach(function (name) {
      self.media.addEventListener(name, function () { self.update(false); });
    });
    if (this.options.keys) {
      document.addEventListener("keydown", function (event) { self.handleKey(event); });
    }
  };

  /* ?t=12.5 or #t=12.5 (what search hits link to): where the page starts playing. */
  VoxtralFollow.startTime = function (loc) {
    loc = loc || window.location;
    var match = /(?:^|[?&#])t=([0-9]+(?:\.[0-9]+)?)/.exec(loc.search + "#" + loc.hash.slice(1));
    return match ? Number(match[1]) : null;
  };

  VoxtralFollow.prototype.seekWhenReady = function (seconds) {
    var self = this;
    if (seconds === null || seconds === undefined) return;
    if (!this.media || this.media.readyState >= 1) {
      this.seek(seconds); // lights the word and keeps it in view
      return;
    }
    this.update(true, seconds); // the word lit and in view until the media can seek there
    this.media.addEventListener("loadedmetadata", function once() {
      self.media.removeEventListener("loadedmetadata", once);
      self.seek(seconds);
    });
  };

  function start(container) {
    if (container.voxtralFollow) return container.voxtralFollow;
    var dataId = container.getAttribute("data-voxtral-data") || container.id + "-data";
    var script = document.getElementById(dataId);
    var data = script ? JSON.parse(script.textContent) : { segments: [] };
    var mediaId = container.getAttribute("data-voxtral-media");
    var media = mediaId ? document.getElementById(mediaId) : null;
    var follow = new VoxtralFollow(container, media, data, {
      keys: container.getAttribute("data-voxtral-keys") === "true",
    });
    container.voxtralFollow = follow;
    follow.seekWhenReady(VoxtralFollow.startTime());
    return follow;
  }

  VoxtralFollow.start = start;
  window.VoxtralFollow = VoxtralFollow;

  function startAll() {
    var all = document.querySelectorAll("[data-voxtral-follow]");
    for (var i = 0; i < all.length; i++) start(all[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else startAll();
})();
