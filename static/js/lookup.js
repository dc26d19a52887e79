/* The "Asociado" lookup as a modal dialog (progressive enhancement of the plain lookup page).
 * Without this script the "Buscar asociado" button posts the draft to the lookup page instead.
 * No inline script anywhere: the Content-Security-Policy forbids it. */
(function () {
  "use strict";

  var trigger = document.getElementById("associate-lookup");
  var dialog = document.getElementById("associate-dialog");
  if (!trigger || !dialog || typeof dialog.showModal !== "function" || !window.fetch) {
    return; // the no-JavaScript page keeps working
  }
  var idField = document.getElementById("associate_id");
  var nameField = document.getElementById("associate_name");
  var live = document.getElementById("associate-live");
  var searchForm = document.getElementById("associate-search-form");
  var searchBox = document.getElementById("associate-search");
  var results = document.getElementById("associate-results");
  var status = document.getElementById("associate-status");
  var resultsUrl = dialog.getAttribute("data-results-url");
  var returnFocus = trigger;
  var pending = null;
  var loaded = false;

  function say(text) {
    status.textContent = text || "";
  }

  function message(name) {
    return dialog.getAttribute("data-msg-" + name) || "";
  }

  function radios() {
    return results.querySelectorAll('input[type="radio"][name="associate"]');
  }

  function load(search, cursor) {
    var params = new URLSearchParams();
    if (search) { params.set("q", search); }
    if (cursor) { params.set("cursor", cursor); }
    if (idField.value) { params.set("selected", idField.value); }
    if (pending) { pending.abort(); }
    pending = new AbortController();
    say(message("loading"));
    results.setAttribute("aria-busy", "true");
    return fetch(resultsUrl + "?" + params.toString(), {
      credentials: "same-origin",
      headers: { "Accept": "text/html" },
      signal: pending.signal
    }).then(function (response) {
      if (response.redirected && response.url.indexOf("/Account/Login/Login") !== -1) {
        throw new Error("signed-out"); // the session ended: "Enviar" keeps the draft through sign-in
      }
      if (!response.ok || response.headers.get("X-Fragment") !== "associates") {
        throw new Error("unavailable");
      }
      return response.text();
    }).then(function (html) {
      // A fragment rendered (and escaped) by the portal itself, from the same origin.
      results.innerHTML = html;
      loaded = true;
      var summary = results.querySelector("[data-summary]");
      say(summary ? summary.textContent.trim() : "");
      if (summary) { summary.hidden = true; } // announced once, in the dialog's status line
    }).catch(function (error) {
      if (error && error.name === "AbortError") { return; }
      say(message(error && error.message === "signed-out" ? "signed-out" : "unavailable"));
    }).then(function () {
      results.removeAttribute("aria-busy");
    });
  }

  function open() {
    returnFocus = document.activeElement || trigger;
    say("");
    dialog.showModal();
    searchBox.focus();
    if (!loaded) { load(searchBox.value, null); }
  }

  function close() {
    if (dialog.open) { dialog.close(); }
  }

  function announce(text) {
    if (live) { live.textContent = text; }
  }

  function select() {
    var checked = results.querySelector('input[name="associate"]:checked');
    if (!checked) {
      say(message("pick"));
      var first = radios()[0];
      if (first) { first.focus(); }
      return;
    }
    idField.value = checked.value;
    nameField.value = checked.getAttribute("data-name") || "";
    close();
    announce(message("selected").replace("{name}", nameField.value));
  }

  function clear() {
    idField.value = "";
    nameField.value = "";
    Array.prototype.forEach.call(radios(), function (radio) { radio.checked = false; });
    close();
    announce(message("cleared"));
  }

  trigger.setAttribute("aria-haspopup", "dialog");
  trigger.setAttribute("aria-controls", dialog.id);
  trigger.addEventListener("click", function (event) {
    event.preventDefault(); // with the dialog there is no need to leave the form
    open();
  });

  searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    load(searchBox.value.trim(), null);
  });

  dialog.addEventListener("click", function (event) {
    var target = event.target;
    var action = target.closest ? target.closest("[data-action]") : null;
    if (action) {
      event.preventDefault();
      var name = action.getAttribute("data-action");
      if (name === "select") { select(); }
      else if (name === "clear") { clear(); }
      else if (name === "close") { close(); }
      else if (name === "more") { load(action.getAttribute("data-q"), action.getAttribute("data-cursor")); }
      return;
    }
    // A click anywhere on a result row picks that row.
    var row = target.closest ? target.closest("tbody tr") : null;
    if (row && results.contains(row) && target.tagName !== "INPUT") {
      var radio = row.querySelector('input[type="radio"]');
      if (radio) { radio.checked = true; radio.focus(); }
    }
  });

  // Double click or Enter on a row chooses it at once.
  results.addEventListener("dblclick", function (event) {
    var row = event.target.closest ? event.target.closest("tbody tr") : null;
    var radio = row ? row.querySelector('input[type="radio"]') : null;
    if (radio) { radio.checked = true; select(); }
  });
  results.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches('input[type="radio"]')) {
      event.preventDefault();
      event.target.checked = true;
      select();
    }
  });

  // Esc closes the dialog (the browser's "cancel"); focus goes back to where it came from.
  dialog.addEventListener("close", function () {
    if (returnFocus && typeof returnFocus.focus === "function") { returnFocus.focus(); }
  });
}());
