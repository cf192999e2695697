// fwgate console: a small same-origin enhancement; every page works
// without it. A form's button is disabled once the form is sent (no
// double release or reject on a slow link), and the release button says
// when the infected-verdict override is ticked.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[method='post']").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type='submit']").forEach(function (b) { b.disabled = true; });
    });
  });
  var override = document.getElementById("override");
  var release = document.getElementById("release");
  if (override && release) {
    var label = release.textContent;
    override.addEventListener("change", function () {
      release.textContent = override.checked ? label + " (override)" : label;
    });
  }
});
