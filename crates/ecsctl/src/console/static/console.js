// Live updates: the server's watch arrives as server-sent events on /events; when one is
// about what this page shows, the page's <main> is fetched again and swapped in place.
(function () {
  "use strict";
  var live = document.getElementById("live");
  // "*" (the overview: every change), "CLUSTER/SERVICE" (a service's page),
  // "task:CLUSTER/ID" (a task's page) or "taskdef:FAMILY" (a task definition's page, which
  // also lists the services using each revision).
  var watch = document.body.getAttribute("data-watch") || "*";
  var timer = null;

  function concerns(change) {
    if (watch.indexOf("task:") === 0) {
      return change.kind === "Task" && watch === "task:" + change.cluster + "/" + change.name;
    }
    if (watch.indexOf("taskdef:") === 0) {
      return change.kind === "Service" ||
        (change.kind === "TaskDefinition" && watch === "taskdef:" + change.name);
    }
    return watch === "*" || (change.cluster + "/" + change.service) === watch;
  }

  // An input the user is typing in (its value changed) is not swapped away: try later.
  function editing() {
    var el = document.activeElement;
    return el && el.tagName === "INPUT" && el.value !== el.defaultValue &&
      document.getElementById("main").contains(el);
  }

  function refresh() {
    timer = null;
    if (editing()) { timer = setTimeout(refresh, 500); return; }
    fetch(window.location.pathname + window.location.search, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("main");
        var main = document.getElementById("main");
        if (!next || !main) { return; }
        if (editing()) { timer = timer || setTimeout(refresh, 500); return; }
        // Keyboard users keep their place: the control that had focus gets it back.
        var focused = document.activeElement && main.contains(document.activeElement) ?
          document.activeElement.id : "";
        // Parts marked data-keep (a log box filling itself) stay as they are.
        var kept = Array.prototype.slice.call(main.querySelectorAll("[data-keep][id]"));
        main.innerHTML = next.innerHTML;
        kept.forEach(function (old) {
          var slot = document.getElementById(old.id);
          if (slot) { slot.replaceWith(old); }
        });
        var again = focused && document.getElementById(focused);
        if (again) { again.focus(); }
        document.dispatchEvent(new CustomEvent("console:refreshed"));
      })
      .catch(function (e) { live.textContent = "refresh failed (" + e + ")"; });
  }

  var source = new EventSource("/events");
  source.onopen = function () { live.textContent = "live"; };
  source.onerror = function () { live.textContent = "reconnecting…"; };
  source.addEventListener("change", function (msg) {
    var change = JSON.parse(msg.data);
    if (concerns(change) && timer === null) {
      // Changes come in bursts (a task's status, then its service's): one fetch per burst.
      timer = setTimeout(refresh, 150);
    }
  });

  // Metrics and target health do not come through the watch: a service page's charts and
  // targets are fetched again every 10 s and swapped in place (the focused element, by id,
  // keeps the focus).
  function refreshCharts() {
    if (!document.getElementById("charts") || document.hidden) { return; }
    fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var focused = document.activeElement && document.activeElement.id;
        ["charts", "targets"].forEach(function (id) {
          var next = doc.getElementById(id);
          var here = document.getElementById(id);
          if (next && here) { here.innerHTML = next.innerHTML; }
        });
        var again = focused && document.getElementById(focused);
        if (again && again !== document.activeElement) { again.focus(); }
      })
      .catch(function (e) { live.textContent = "chart refresh failed (" + e + ")"; });
  }
  setInterval(refreshCharts, 10000);

  // Actions: the form (class "action" or "inline") asks the console what it would do, and
  // the answer (the confirmation, or why not) opens in a modal <dialog> over the page; its
  // Confirm posts as a plain form. Without script the same answer is a page of its own.
  function dialog() {
    var d = document.getElementById("action-dialog");
    if (!d) {
      d = document.createElement("dialog");
      d.id = "action-dialog";
      document.body.appendChild(d);
    }
    return d;
  }

  function show(html) {
    var content = new DOMParser().parseFromString(html, "text/html").getElementById("main");
    var d = dialog();
    d.innerHTML = content ? content.innerHTML : "<p>The console sent no answer.</p>";
    var heading = d.querySelector("h1");
    if (heading && heading.id) { d.setAttribute("aria-labelledby", heading.id); }
    var cancel = d.querySelector("#cancel");
    if (cancel) {
      cancel.addEventListener("click", function (e) { e.preventDefault(); d.close(); });
    }
    d.showModal();
    var first = d.querySelector("#confirm") || d.querySelector("a");
    if (first) { first.focus(); }
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches("form.action, form.inline") || typeof HTMLDialogElement !== "function") {
      return;
    }
    ev.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin"
    })
      .then(function (r) { return r.text(); })
      .then(show)
      .catch(function (e) { live.textContent = "the action could not be asked (" + e + ")"; });
  });
})();
