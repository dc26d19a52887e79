// The provider's answer, posted on to the portal from its own page (same-site: the session cookie
// goes with it). Without JavaScript the "Continuar" button does the same.
(function () {
  "use strict";
  var form = document.querySelector("form[data-auto-submit]");
  if (form) {
    form.submit();
  }
})();
