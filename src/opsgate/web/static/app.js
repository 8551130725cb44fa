/* opsgate web console: progressive enhancement only.  Every form works without
 * this file; with it, decisions and toggles update in place, destructive cards
 * keep Allow disabled until the name is typed, and server-sent events keep every
 * open page current.  No inline script anywhere (the CSP forbids it). */
(function () {
  "use strict";

  function parse(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  /* Destructive cards: Allow is enabled only when the typed name matches
   * (case-insensitive; the server checks again). */
  function syncConfirm(input) {
    var form = input.form;
    var button = form && form.querySelector("button.allow");
    if (!button) return;
    var ok = input.value.trim().toLowerCase() === input.dataset.confirm.toLowerCase();
    button.disabled = !ok;
    button.setAttribute("aria-disabled", ok ? "false" : "true");
  }
  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("input[data-confirm]")) syncConfirm(e.target);
  });

  function placeCard(el) {
    /* On the inbox, a decided card moves from Pending to Recent outcomes. */
    var pending = document.getElementById("pending");
    var recent = document.getElementById("recent");
    if (!pending || !recent || !el) return;
    var state = el.dataset.state;
    if (!state) return;
    var list = state === "pending" ? pending : recent;
    if (el.parentElement !== list) {
      var empty = list.querySelector(".empty");
      if (empty) empty.remove();
      list.insertBefore(el, list.firstElementChild);
    }
    var count = document.querySelector("[data-testid=pending-count]");
    if (count) count.textContent = String(pending.querySelectorAll("article.card").length);
  }

  function replaceWith(id, html, refocus) {
    var old = document.getElementById(id);
    var fresh = parse(html);
    if (!old || !fresh) return null;
    old.replaceWith(fresh);
    placeCard(fresh);
    /* After placing it (moving a node drops its focus), keep keyboard users where
     * they were: the same control, else the card. */
    var target = (refocus && fresh.querySelector(refocus)) || fresh;
    target.focus();
    return fresh;
  }

  /* Forms marked data-fragment post in the background and swap in the answer. */
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.dataset || !form.dataset.fragment) return;
    e.preventDefault();
    var submitter = e.submitter;
    var body = new URLSearchParams(new FormData(form));
    var focusSel = submitter && submitter.dataset.testid ? "[data-testid='" + submitter.dataset.testid + "']" : null;
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Opsgate-Fragment": "1" }
    }).then(function (r) {
      return r.text().then(function (text) { return { ok: r.ok, status: r.status, text: text }; });
    }).then(function (res) {
      var fresh = parse(res.text);
      if (fresh && fresh.id === form.dataset.fragment) {
        replaceWith(form.dataset.fragment, res.text, focusSel);
      } else {
        window.location.reload();
      }
    }).catch(function () { window.location.reload(); });
  });

  /* Live updates. */
  function refreshCard(id) {
    var existing = document.getElementById("card-" + id);
    var pending = document.getElementById("pending");
    if (!existing && !pending) return;
    fetch("/cards/" + encodeURIComponent(id) + "/fragment", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = parse(html);
        if (!fresh) return;
        var current = document.getElementById("card-" + id);
        if (current) {
          /* Someone typing into a card that is still pending keeps their text. */
          if (current.contains(document.activeElement) && current.dataset.state === fresh.dataset.state) return;
          current.replaceWith(fresh);
          placeCard(fresh);
        } else if (pending && fresh.dataset.state === "pending" && !document.querySelector(".filters select option:checked:not([value=''])")) {
          placeCard(fresh);
        }
      });
  }

  function addActivity(html) {
    var list = document.getElementById("activity-list");
    var item = parse(html);
    if (!list || !item) return;
    list.insertBefore(item, list.firstElementChild);
    while (list.children.length > 25) list.lastElementChild.remove();
  }

  if (document.body.dataset.live && window.EventSource) {
    var status = document.getElementById("live-status");
    var source = new EventSource("/events");
    source.onopen = function () { if (status) status.textContent = "Live updates on"; document.body.dataset.connected = "1"; };
    source.onerror = function () { if (status) status.textContent = "Reconnecting…"; document.body.dataset.connected = ""; };
    source.addEventListener("card", function (e) {
      var data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      if (data.html) addActivity(data.html);
      if (data.card) refreshCard(data.card);
    });
    /* A lockdown started or lifted (here, on another replica or from the CLI): a
     * banner on whatever page is open; text only, never HTML from the stream. */
    source.addEventListener("lockdown", function (e) {
      var data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      var main = document.getElementById("main");
      if (!main) return;
      var banner = document.getElementById("lockdown-banner");
      if (!banner) {
        banner = document.createElement("p");
        banner.id = "lockdown-banner";
        banner.setAttribute("role", "alert");
        banner.dataset.testid = "lockdown-banner";
        main.insertBefore(banner, main.firstChild);
      }
      banner.className = "lockdown-banner" + (data.locked ? "" : " lifted");
      banner.textContent = String(data.text || "");
    });
  }
})();
