// A task's logs, following live: the page's log stream (SSE, see `task_logs` in
// console/mod.rs) sends the last lines of each container, then each new line, as `line`
// events, and one `end` event when it ends. Lines are added as text, never as markup.
(function () {
  "use strict";
  var box = document.getElementById("logs");
  if (!box) { return; }
  var lines = document.getElementById("log-lines");
  var state = document.getElementById("logs-state");
  var MAX_LINES = 2000;
  var source = null;
  // The `end` event's data once the stream ended: {why, retry}.
  var ended = null;

  function atBottom() {
    return lines.scrollHeight - lines.scrollTop - lines.clientHeight < 8;
  }

  function open() {
    ended = null;
    source = new EventSource(box.getAttribute("data-src"));
    source.onopen = function () {
      // Each connection starts again from the tail: drop what an earlier one showed.
      lines.textContent = "";
      state.textContent = "following";
    };
    source.onerror = function () { state.textContent = "reconnecting…"; };
    source.addEventListener("line", function (msg) {
      var line = JSON.parse(msg.data);
      var follow = atBottom();
      var div = document.createElement("div");
      div.className = line.stderr ? "line stderr" : "line";
      div.textContent = line.prefix + line.text;
      lines.appendChild(div);
      while (lines.childNodes.length > MAX_LINES) { lines.removeChild(lines.firstChild); }
      if (follow) { lines.scrollTop = lines.scrollHeight; }
    });
    source.addEventListener("end", function (msg) {
      source.close();
      ended = JSON.parse(msg.data);
      state.textContent = "ended: " + ended.why;
    });
  }

  // The page refreshed (console.js): a stream that could not be read (no containers yet)
  // opens again once the task runs.
  document.addEventListener("console:refreshed", function () {
    var status = document.getElementById("last-status");
    if (ended && ended.retry && status && status.textContent === "RUNNING") { open(); }
  });
  open();
})();
