/* "Agregar un comentario": checks the chosen files against the tenant's limits before anything is
 * uploaded (the server checks again; without this script the server's message says the same). */
(function () {
  "use strict";

  var form = document.getElementById("comment-form");
  var input = document.getElementById("files");
  var status = document.getElementById("files-status");
  if (!form || !input || !status) {
    return;
  }
  var maxFiles = parseInt(form.getAttribute("data-max-files"), 10) || 0;
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
  var blocked = (form.getAttribute("data-blocked") || "").split(";");

  function message(name, file, ext) {
    return (form.getAttribute("data-msg-" + name) || "")
      .replace("{name}", file || "").replace("{ext}", ext || "");
  }

  function problem() {
    var files = input.files || [];
    if (files.length > maxFiles) {
      return message("too-many");
    }
    for (var i = 0; i < files.length; i += 1) {
      var file = files[i];
      var dot = file.name.lastIndexOf(".");
      var ext = dot >= 0 ? file.name.slice(dot + 1).toLowerCase() : "";
      if (file.size === 0) { return message("empty", file.name); }
      if (maxBytes && file.size > maxBytes) { return message("too-big", file.name); }
      if (ext && blocked.indexOf(ext) !== -1) { return message("blocked", file.name, ext); }
    }
    return "";
  }

  function check() {
    var text = problem();
    status.textContent = text;
    input.setAttribute("aria-invalid", text ? "true" : "false");
    return text;
  }

  input.addEventListener("change", check);
  form.addEventListener("submit", function (event) {
    if (check()) {
      event.preventDefault();
      input.focus();
      return;
    }
    var button = document.getElementById("send-comment");
    if (button) {
      window.setTimeout(function () { button.disabled = true; }, 0); // one post per click
    }
  });
}());
