// Live updates: the server's watch arrives as server-sent events on /events; when one is
// about what this page shows, the page's <main> is fetched again and swapped in place.
(function () {
  "use strict";
  var live = document.getElementById("live");
  // "*" (the overview: every change) or "CLUSTER/SERVICE" (a service's page).
  var watch = document.body.getAttribute("data-watch") || "*";
  var timer = null;

  function concerns(change) {
    return watch === "*" || (change.cluster + "/" + change.service) === watch;
  }

  // Fetches the page again and swaps the elements with these ids in place; the focused
  // element, when it has an id, keeps the focus in the new content.
  function swap(ids) {
    fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var focused = document.activeElement && document.activeElement.id;
        ids.forEach(function (id) {
          var next = doc.getElementById(id);
          var here = document.getElementById(id);
          if (next && here) { here.innerHTML = next.innerHTML; }
        });
        var again = focused && document.getElementById(focused);
        if (again && again !== document.activeElement) { again.focus(); }
      })
      .catch(function (e) { live.textContent = "refresh failed (" + e + ")"; });
  }

  function refresh() {
    timer = null;
    swap(["main"]);
  }

  // Metrics and target health do not come through the watch: the charts and the targets
  // are fetched again every 10 s while the page shows them.
  setInterval(function () {
    if (document.getElementById("charts") && !document.hidden) { swap(["charts", "targets"]); }
  }, 10000);

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
