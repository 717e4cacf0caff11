// Live updates: when the server says something new was stored, fetch this page again and swap
// its live sections in place (the page works without this: reload it by hand).
(function () {
  if (!window.EventSource || !document.querySelector("[data-live]")) return;
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { headers: { "X-Raven-Live": "1" } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelectorAll("[data-live]");
        var current = document.querySelectorAll("[data-live]");
        for (var i = 0; i < current.length && i < fresh.length; i++) {
          // Keep what the reader opened (<details>) open across the swap.
          var opened = Array.prototype.map.call(current[i].querySelectorAll("details"), function (d) { return d.open; });
          current[i].replaceWith(fresh[i]);
          fresh[i].querySelectorAll("details").forEach(function (d, j) { if (opened[j] !== undefined) d.open = opened[j]; });
        }
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var source = new EventSource("/live?v=" + document.body.dataset.version);
  source.onmessage = refresh;
})();
