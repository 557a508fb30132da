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

  function refresh() {
    timer = null;
    fetch(window.location.pathname + window.location.search, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("main");
        var main = document.getElementById("main");
        if (!next || !main) { return; }
        // Parts marked data-keep (a log box filling itself) stay as they are.
        var kept = Array.prototype.slice.call(main.querySelectorAll("[data-keep][id]"));
        main.innerHTML = next.innerHTML;
        kept.forEach(function (old) {
          var slot = document.getElementById(old.id);
          if (slot) { slot.replaceWith(old); }
        });
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
})();
