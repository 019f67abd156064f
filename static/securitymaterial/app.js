// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="#selector">
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.querySelector(button.getAttribute("data-copy"));
      if (!field) return;
      var done = function () {
        var label = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done);
      } else {
        field.select();
        document.execCommand("copy");
        done();
      }
    });
  });

  // Runtime selector submits on change.
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Rows that belong to one kind of User Credentials (Company ID: SuccessFactors).
  var kind = document.querySelector("#id_credential_kind");
  function showKindOnly() {
    document.querySelectorAll("[data-kind-only]").forEach(function (el) {
      var row = el.closest(".mb-3") || el;
      row.hidden = el.getAttribute("data-kind-only") !== kind.value;
    });
  }
  if (kind) {
    kind.addEventListener("change", showKindOnly);
    showKindOnly();
  }

  var form = document.querySelector("form.artifact-form");
  if (!form) return;
  var templates = JSON.parse(form.getAttribute("data-templates") || "{}");
  var provider = form.querySelector("#id_provider");
  var tenant = form.querySelector("#id_tenant");
  var authUrl = form.querySelector("#id_authorization_url");
  var tokenUrl = form.querySelector("#id_token_service_url");
  var expiry = form.querySelector("#id_refresh_token_expiry_days");
  var scope = form.querySelector("#id_scope");

  function showProviderOnly() {
    form.querySelectorAll("[data-provider-only]").forEach(function (el) {
      var row = el.closest(".mb-3") || el;
      row.hidden = el.getAttribute("data-provider-only") !== provider.value;
    });
  }

  // Fill the URLs from the tenant, unless the admin typed URLs of their own.
  // On edit, URLs that are the current tenant's defaults count as filled, so they follow
  // a new tenant (the server does the same when JavaScript is off).
  var filled = ["", ""];
  (function () {
    var pair = templates[provider && provider.value];
    var value = tenant ? tenant.value.trim() : "";
    if (!pair || !value) return;
    [authUrl, tokenUrl].forEach(function (input, i) {
      var url = pair[i].replace("{tenant}", value);
      if (input.value === url) filled[i] = url;
    });
  })();
  function fillUrls() {
    var pair = templates[provider.value];
    if (!pair || !tenant) return;
    var value = tenant.value.trim();
    [authUrl, tokenUrl].forEach(function (input, i) {
      if (input.value === "" || input.value === filled[i]) {
        filled[i] = value ? pair[i].replace("{tenant}", value) : "";
        input.value = filled[i];
      }
    });
  }

  if (provider) {
    provider.addEventListener("change", function () {
      showProviderOnly();
      if (provider.value === "microsoft365" && expiry && expiry.value === "") expiry.value = "90";
      fillUrls();
    });
    showProviderOnly();
  }
  if (tenant) tenant.addEventListener("input", fillUrls);

  form.querySelectorAll("[data-add-scope]").forEach(function (button) {
    button.addEventListener("click", function () {
      var wanted = button.getAttribute("data-add-scope");
      var scopes = scope.value.split(/\s+/).filter(Boolean);
      if (scopes.indexOf(wanted) === -1) scopes.push(wanted);
      scope.value = scopes.join(" ");
    });
  });
})();
