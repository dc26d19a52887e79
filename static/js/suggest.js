/* "Artículos que pueden ayudarle" while the title of a new case is typed (three characters or more,
 * debounced), and the draft kept while the customer reads one: the form's fields are saved in this
 * tab's sessionStorage when a suggestion is opened and put back when the form comes back empty.
 * Without this script, the "Buscar artículos" button does the same through the server. */
(function () {
  "use strict";

  var form = document.getElementById("new-case-form");
  var title = document.getElementById("title");
  var box = document.getElementById("suggestions");
  if (!form || !title || !box || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-suggest-url");
  var key = "d365portal:new-case-draft";
  var fields = ["title", "description", "associate_id", "associate_name"];
  var timer = null;
  var asked = "";
  var controller = null;

  function restore() {
    var raw = null;
    try { raw = window.sessionStorage.getItem(key); } catch (e) { return; }
    if (!raw) { return; }
    var draft = JSON.parse(raw);
    var empty = fields.every(function (name) {
      var input = document.getElementById(name);
      return !input || !input.value;
    });
    if (empty) {
      fields.forEach(function (name) {
        var input = document.getElementById(name);
        if (input && typeof draft[name] === "string") { input.value = draft[name]; }
      });
    }
    try { window.sessionStorage.removeItem(key); } catch (e) { /* private mode */ }
  }

  function save() {
    var draft = {};
    fields.forEach(function (name) {
      var input = document.getElementById(name);
      if (input) { draft[name] = input.value; }
    });
    try { window.sessionStorage.setItem(key, JSON.stringify(draft)); } catch (e) { /* private mode */ }
  }

  function ask() {
    var text = title.value.trim();
    if (text.length < 3) {
      box.innerHTML = "";
      asked = "";
      return;
    }
    if (text === asked) { return; }
    asked = text;
    if (controller) { controller.abort(); }
    controller = window.AbortController ? new AbortController() : null;
    fetch(url + "?q=" + encodeURIComponent(text), {
      credentials: "same-origin",
      headers: { "Accept": "text/html" },
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      // Only the fragment itself: a session that ended answers with a redirect to the sign-in page,
      // which must never land inside the form (the form keeps its own way of saying so).
      var fragment = response.ok && !response.redirected &&
        response.headers.get("X-Portal-Fragment") === "suggestions";
      return fragment ? response.text() : "";
    }).then(function (html) {
      if (title.value.trim() === text) {
        box.innerHTML = html; // rendered and escaped by the portal's templates
      }
    }).catch(function () { /* a newer request replaced this one, or the network failed */ });
  }

  title.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 300);
  });
  box.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a") : null;
    if (link) { save(); }
  });
  window.addEventListener("pageshow", restore);
  restore();
  if (title.value.trim().length >= 3 && !box.querySelector("a")) { ask(); }
})();
