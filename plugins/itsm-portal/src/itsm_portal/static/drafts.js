// What a customer typed is never lost to a refused send: a form's text is kept in this tab's
// sessionStorage when it is sent; the "too much to send" page marks it to be put back, and the
// form fills itself again when the customer goes back. Any other page clears what was kept.
(function () {
  "use strict";
  var KEEP = "itsm-draft:", BACK = "itsm-draft-back";
  var store;
  try { store = window.sessionStorage; } catch (e) { return; }
  if (!store) { return; }
  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf" && (el.tagName === "TEXTAREA" ||
        (el.tagName === "INPUT" && ["text", "email", "tel", "search", "url", "number"].indexOf(el.type) >= 0));
    });
  }
  function key(form) { return KEEP + new URL(form.action, location.href).pathname; }
  function forms() { return Array.prototype.filter.call(document.forms, function (f) { return f.method === "post"; }); }
  function clear() {
    for (var i = store.length - 1; i >= 0; i--) {
      var k = store.key(i);
      if (k && k.indexOf(KEEP) === 0) { store.removeItem(k); }
    }
  }
  if (document.body.hasAttribute("data-too-much")) { store.setItem(BACK, "1"); return; }
  if (store.getItem(BACK)) {
    forms().forEach(function (form) {
      var kept = store.getItem(key(form));
      if (!kept) { return; }
      var values = JSON.parse(kept);
      fields(form).forEach(function (el) { if (!el.value && values[el.name]) { el.value = values[el.name]; } });
    });
    store.removeItem(BACK);
  }
  clear();
  forms().forEach(function (form) {
    form.addEventListener("submit", function () {
      var values = {};
      fields(form).forEach(function (el) { values[el.name] = el.value; });
      try { store.setItem(key(form), JSON.stringify(values)); } catch (e) { /* too big for storage: nothing kept */ }
    });
  });
})();
