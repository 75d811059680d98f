// Progressive enhancement: a section marked data-refresh="ms" is fetched again and replaced in
// place until the fresh copy no longer asks for it (a run that has ended). Pages work without it.
"use strict";
(function () {
  function follow(section) {
    var every = parseInt(section.getAttribute("data-refresh"), 10) || 1000;
    setTimeout(function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(section.id);
          if (!fresh) { return; }
          section.replaceWith(fresh);
          if (fresh.hasAttribute("data-refresh")) { follow(fresh); }
        })
        .catch(function () { follow(section); });
    }, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh][id]").forEach(follow);
  });
})();
