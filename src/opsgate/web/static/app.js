/* opsgate web console: progressive enhancement only.  Every form works without
 * this file; with it:
 *  - forms post in the background, and an action the server never received stays
 *    on the page saying "Not recorded — retry" (never the browser's error page);
 *  - a banner says so while the server cannot be reached, and the page catches up
 *    when it is back;
 *  - decisions and switches update in place; destructive cards keep Allow disabled
 *    until the name is typed; destructive management actions ask first, in place;
 *  - server-sent events keep every open page current; the expiry counts down;
 *  - times read in the browser's time zone, in one format.
 * No inline script anywhere (the CSP forbids it). */
(function () {
  "use strict";

  var OFFLINE_GRACE_MS = 1500; // a stream's planned reconnect is not an outage

  function parse(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  /* --- times ------------------------------------------------------------------- */

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function formatTime(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      " " + pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
  }
  function localizeTimes(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("time[data-local]"), function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      el.textContent = formatTime(when);
      el.title = when.toString();
    });
  }

  function remaining(seconds) {
    if (seconds <= 0) return "expired";
    var s = Math.floor(seconds);
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min " + pad(s % 60) + " s";
    var h = Math.floor(m / 60);
    return h + " h " + pad(m % 60) + " min";
  }
  function tick() {
    var now = Date.now() / 1000;
    Array.prototype.forEach.call(document.querySelectorAll(".countdown[data-expires-at]"), function (el) {
      var left = parseFloat(el.dataset.expiresAt) - now;
      el.textContent = remaining(left);
      if (left <= 0) {
        var card = el.closest("article.card");
        if (card) {
          card.classList.add("is-expired");
          Array.prototype.forEach.call(card.querySelectorAll(".decide button"), function (b) { b.disabled = true; });
        }
      }
    });
  }

  /* --- phone width: inbox cards collapse to their summary ------------------------ */

  var narrow = window.matchMedia ? window.matchMedia("(max-width: 800px)") : { matches: false };
  function collapse(card, keepFrom) {
    if (!card || !card.querySelector) return;
    var more = card.querySelector("details.more");
    if (!more || card.dataset.level === "1") return;
    if (keepFrom && keepFrom.querySelector("details.more")) {
      more.open = keepFrom.querySelector("details.more").open;
    } else if (narrow.matches) {
      more.open = false;
    }
  }

  /* --- destructive cards: Allow only with the name typed -------------------------- */

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

  /* --- the inbox: where a card belongs ------------------------------------------------ */

  function countBy(delta) {
    var count = document.querySelector("[data-testid=pending-count]");
    if (count) count.textContent = String(Math.max(0, (parseInt(count.textContent, 10) || 0) + delta));
  }

  function onThisPage(pending, card) {
    /* The inbox shows a page of the newest pending cards.  A card no newer than the
     * newest shown belongs to a later page: its event was on its way while this page
     * rendered.  On an older page, new cards belong to the first. */
    if (pending.dataset.paged) return false;
    if (!document.querySelector("[data-testid=more-pending]")) return true;
    var first = pending.querySelector("article.card");
    return !first || (card.dataset.createdAt || "") > (first.dataset.createdAt || "");
  }

  function placeCard(el, wasPending) {
    /* On the inbox, a decided card moves from Pending to Recent outcomes. */
    var pending = document.getElementById("pending");
    var recent = document.getElementById("recent");
    if (!pending || !recent || !el || !el.dataset.state) return;
    var isPending = el.dataset.state === "pending";
    var list = isPending ? pending : recent;
    if (el.parentElement !== list) {
      var empty = list.querySelector(".empty");
      if (empty) empty.remove();
      list.insertBefore(el, list.firstElementChild);
    }
    if (wasPending !== isPending) countBy(isPending ? 1 : -1);
  }

  function swapCard(old, html, refocus) {
    var fresh = parse(html);
    if (!old || !fresh || fresh.id !== old.id) return null;
    var wasPending = old.dataset.state === "pending";
    collapse(fresh, old);
    old.replaceWith(fresh);
    placeCard(fresh, wasPending);
    localizeTimes(fresh);
    tick();
    if (refocus !== false) {
      /* After placing it (moving a node drops its focus), keep keyboard users where
       * they were: the same control, else the card. */
      var target = (refocus && fresh.querySelector(refocus)) || fresh;
      target.focus();
    }
    return fresh;
  }

  /* --- forms: posted in the background, never lost ------------------------------------ */

  function notRecorded(form, submitter, why) {
    var old = form.querySelector(".not-recorded");
    if (old) old.remove();
    var note = document.createElement("p");
    note.className = "not-recorded";
    note.setAttribute("role", "alert");
    note.setAttribute("data-testid", "not-recorded");
    note.appendChild(document.createTextNode("Not recorded — " + why + " "));
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "retry";
    retry.textContent = "Retry";
    retry.addEventListener("click", function () { note.remove(); send(form, submitter, true); });
    note.appendChild(retry);
    form.appendChild(note);
    retry.focus();
  }

  function swapPage(text, url) {
    var doc = new DOMParser().parseFromString(text, "text/html");
    if (!doc.body || !doc.querySelector("main")) return false;
    document.title = doc.title;
    var live = document.body.dataset.live;
    document.body.replaceWith(document.adoptNode(doc.body));
    if (document.body.dataset.live && !live) startLive();
    if (source) document.body.dataset.connected = connected ? "1" : "";
    if (url && url !== window.location.href) window.history.replaceState(null, "", url);
    localizeTimes(document);
    prepare(document);
    var said = document.querySelector("main [role=alert], main [role=status], main .once");
    (said || document.getElementById("main")).focus();
    if (said && said !== document.activeElement) {
      said.setAttribute("tabindex", "-1");
      said.focus();
    }
    return true;
  }

  function send(form, submitter, confirmed) {
    var body = new URLSearchParams(new FormData(form));
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    if (confirmed) body.set("confirmed", "1");
    var fragment = form.dataset && form.dataset.fragment;
    var focusSel = submitter && submitter.dataset.testid ? "[data-testid='" + submitter.dataset.testid + "']" : null;
    var buttons = form.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    var action = form.getAttribute("action") || window.location.pathname;
    var headers = fragment ? { "X-Opsgate-Fragment": "1" } : {};
    fetch(action, { method: "POST", body: body, credentials: "same-origin", headers: headers })
      .then(function (r) {
        return r.text().then(function (text) { return { r: r, text: text }; });
      })
      .then(function (res) {
        var r = res.r;
        var type = r.headers.get("content-type") || "";
        if (r.status >= 500 && type.indexOf("text/html") < 0) throw new Error("the server answered " + r.status);
        if (fragment) {
          var fresh = parse(res.text);
          var old = document.getElementById(fragment);
          if (fresh && old && fresh.id === fragment) {
            if (old.matches("article.card")) swapCard(old, res.text, focusSel);
            else { old.replaceWith(fresh); localizeTimes(fresh); var f = (focusSel && fresh.querySelector(focusSel)) || fresh; f.focus(); }
            return;
          }
        }
        if (!swapPage(res.text, r.url)) throw new Error("the answer was not a page");
      })
      .catch(function (err) {
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
        Array.prototype.forEach.call(form.querySelectorAll("input[data-confirm]"), syncConfirm);
        var why = err && err.message && err.message.indexOf("answered") >= 0 ? err.message : "the server could not be reached";
        notRecorded(form, submitter, why + ".");
        goneOffline();
      });
  }

  function askFirst(form, submitter) {
    /* A destructive management action: say what happens, then act on a second click. */
    var box = form.querySelector(".ask");
    if (box) box.remove();
    box = document.createElement("span");
    box.className = "ask";
    box.setAttribute("role", "alert");
    box.setAttribute("data-testid", "ask");
    box.appendChild(document.createTextNode(submitter.dataset.confirm + " "));
    var yes = document.createElement("button");
    yes.type = "button";
    yes.className = "danger";
    yes.textContent = submitter.dataset.confirmVerb || "Yes";
    yes.addEventListener("click", function () { box.remove(); send(form, submitter, true); });
    var no = document.createElement("button");
    no.type = "button";
    no.textContent = "Cancel";
    no.addEventListener("click", function () { box.remove(); submitter.focus(); });
    box.appendChild(yes);
    box.appendChild(document.createTextNode(" "));
    box.appendChild(no);
    (submitter.parentElement || form).appendChild(box);
    no.focus();
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || (form.method || "").toLowerCase() !== "post" || form.dataset.native) return;
    e.preventDefault();
    var submitter = e.submitter;
    /* A button outside its form (form="…") still belongs to it. */
    if (submitter && submitter.dataset.confirm) { askFirst(form, submitter); return; }
    send(form, submitter, false);
  });

  /* --- live updates --------------------------------------------------------------------- */

  var source = null;
  var connected = false;
  var offlineTimer = null;
  var wasOffline = false;
  var activityTimer = null;

  function setStatus(text, state) {
    var status = document.getElementById("live-status");
    if (status) { status.textContent = text; status.dataset.state = state; }
  }
  function banner(show) {
    var el = document.getElementById("offline-banner");
    if (el) el.hidden = !show;
  }
  function goneOffline() {
    wasOffline = true;
    banner(true);
    setStatus("Offline", "off");
  }

  function refreshActivity() {
    clearTimeout(activityTimer);
    activityTimer = setTimeout(function () {
      var aside = document.getElementById("activity");
      var list = document.getElementById("activity-list");
      if (!aside || !list) return;
      fetch(aside.dataset.src, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          var fresh = html && parse(html);
          var current = document.getElementById("activity-list");
          if (!fresh || !current) return;
          current.innerHTML = fresh.innerHTML;
          localizeTimes(current);
        })
        .catch(function () {});
    }, 150);
  }

  function matchesFilters(card) {
    var pending = document.getElementById("pending");
    if (!pending || pending.dataset.paged) return false; // new cards appear on the first page
    var params = new URLSearchParams(window.location.search);
    var checks = { environment: "environment", impact: "impact", agent: "requestedBy", target: "target" };
    for (var key in checks) {
      var wanted = params.get(key);
      if (wanted && card.dataset[checks[key]] !== wanted) return false;
    }
    return true;
  }

  function refreshCard(id) {
    var existing = document.getElementById("card-" + id);
    var pending = document.getElementById("pending");
    if (!existing && !pending) return;
    var level = existing ? existing.dataset.level : "3";
    fetch("/cards/" + encodeURIComponent(id) + "/fragment?hl=" + level, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = parse(html);
        if (!fresh) return;
        var current = document.getElementById("card-" + id);
        if (current) {
          /* Someone typing into a card that is still pending keeps their text. */
          if (current.contains(document.activeElement) && current.dataset.state === fresh.dataset.state) return;
          swapCard(current, html, false);
        } else if (pending && fresh.dataset.state === "pending" && matchesFilters(fresh) &&
                   onThisPage(pending, fresh)) {
          collapse(fresh);
          localizeTimes(fresh);
          placeCard(fresh, false);
          tick();
        }
      })
      .catch(function () {});
  }

  function catchUp() {
    /* Back after an outage: whatever changed meanwhile was never streamed. */
    Array.prototype.forEach.call(document.querySelectorAll("article.card[data-card-id]"), function (c) {
      refreshCard(c.dataset.cardId);
    });
    refreshActivity();
  }

  function startLive() {
    if (source || !document.body.dataset.live || !window.EventSource) return;
    source = new EventSource("/events");
    source.onopen = function () {
      connected = true;
      clearTimeout(offlineTimer);
      offlineTimer = null;
      document.body.dataset.connected = "1";
      setStatus("Live", "on");
      banner(false);
      if (wasOffline) { wasOffline = false; catchUp(); }
    };
    source.onerror = function () {
      connected = false;
      document.body.dataset.connected = "";
      setStatus("Reconnecting…", "wait");
      if (!offlineTimer) offlineTimer = setTimeout(function () { offlineTimer = null; if (!connected) goneOffline(); }, OFFLINE_GRACE_MS);
      if (source.readyState === 2) {
        /* Closed for good (an HTTP error such as a proxy's 502): start over. */
        source = null;
        setTimeout(startLive, 3000);
      }
    };
    source.addEventListener("card", function (e) {
      var data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      if (data.card) refreshCard(data.card);
      refreshActivity();
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

  function prepare(root) {
    if (narrow.matches) {
      Array.prototype.forEach.call(root.querySelectorAll("#pending article.card, #recent article.card"), function (c) { collapse(c); });
    }
  }

  localizeTimes(document);
  prepare(document);
  tick();
  setInterval(tick, 1000);
  startLive();
})();
