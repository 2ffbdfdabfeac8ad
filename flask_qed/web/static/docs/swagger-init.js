// Swagger UI for the gateway's API descriptions (the list is in the page's data-urls).
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    urls: JSON.parse(root.getAttribute("data-urls")),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,            // no badge fetched from a validator service: the page stays offline
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
});
