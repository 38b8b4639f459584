// Record a contact: the pick list follows what the agent types (the page works without this:
// type, press Find, choose). Asks /desk/customers.json at most every 200 ms; an answer to an
// older text is dropped, so the list always matches what is in the box.
(function () {
  "use strict";
  var box = document.getElementById("f-find");
  var pick = document.getElementById("pick");
  var hint = document.getElementById("pick-hint");
  var kept = document.querySelector('form[method="post"] input[name="find"]');
  if (!box || !pick || !hint || !window.fetch) { return; }
  var timer = null, asked = 0;
  function chosen() {
    var on = pick.querySelector("input:checked");
    return on ? on.value : "";
  }
  function item(c, checked) {
    var li = document.createElement("li"), label = document.createElement("label");
    var radio = document.createElement("input"), name = document.createElement("strong");
    radio.type = "radio"; radio.name = "customer"; radio.value = c.id; radio.checked = checked;
    name.textContent = c.name;
    label.appendChild(radio); label.appendChild(document.createTextNode(" "));
    label.appendChild(name);
    var rest = " (" + c.id + ")" + (c.email ? " · " + c.email : "") + (c.phone ? " · " + c.phone : "");
    label.appendChild(document.createTextNode(rest));
    li.appendChild(label);
    return li;
  }
  function show(found, more, text) {
    var was = chosen();
    while (pick.firstChild) { pick.removeChild(pick.firstChild); }
    found.forEach(function (c) {
      pick.appendChild(item(c, c.id === was || (found.length === 1 && !was)));
    });
    hint.textContent = !found.length ? "Nobody matches “" + text + "”. Try part of the name, the login, the email or the phone number."
      : more ? "The first " + found.length + " matches: type more to narrow them down." : "";
  }
  function ask() {
    var text = box.value.trim(), mine = ++asked;
    if (kept) { kept.value = text; }
    if (text.replace(/[^\p{L}\p{N}]/gu, "").length < 2) {
      hint.textContent = "Type at least 2 letters or digits of the customer's name, login, email or phone number.";
      return;
    }
    fetch("/desk/customers.json?q=" + encodeURIComponent(text), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : r.json().then(function (e) { throw new Error(e.error || r.statusText); }); })
      .then(function (data) { if (mine === asked) { show(data.customers, data.more, text); } })
      .catch(function (e) { if (mine === asked) { hint.textContent = String(e.message || e); } });
  }
  box.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(ask, 200);
  });
  box.form.addEventListener("submit", function (ev) { ev.preventDefault(); ask(); });
})();
