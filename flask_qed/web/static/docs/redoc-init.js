// ReDoc for the gateway's API description named in the page's data-spec.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("redoc");
  // Search runs in a blob: worker, which the page's CSP (scripts from the gateway only) refuses.
  Redoc.init(root.getAttribute("data-spec"), {disableSearch: true}, root);
});
