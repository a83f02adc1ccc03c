// Frontline console: the one script every page loads (no inline script anywhere; the CSP forbids it).
// Keyboard shortcuts, live re-fetch of [data-live-src] on server-sent events, countdowns, the "?" overlay,
// and forms marked [data-fetch] sent in the background with the session's CSRF token.
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.getAttribute("data-csrf") || "";

  // ---- the "?" overlay ----
  var overlay = document.getElementById("shortcuts");
  function toggleOverlay(show) {
    if (!overlay) return;
    var open = show === undefined ? overlay.hidden : show;
    overlay.hidden = !open;
    document.querySelectorAll("[data-shortcuts-toggle][aria-controls]").forEach(function (b) {
      b.setAttribute("aria-expanded", String(open));
    });
    if (open) { var btn = overlay.querySelector("button"); if (btn) btn.focus(); }
  }
  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-shortcuts-toggle]");
    if (t) { e.preventDefault(); toggleOverlay(); }
  });

  // ---- keyboard: j/k move, Enter open, c claim, r reply, n note, / search, ? overlay ----
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function rowsOf() { return Array.prototype.slice.call(document.querySelectorAll("[data-row]")); }
  var selected = -1;
  function select(i) {
    var rows = rowsOf();
    if (!rows.length) return;
    selected = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, n) { r.classList.toggle("selected", n === selected); });
    var link = rows[selected].querySelector("a, button");
    if (link) link.focus();
  }
  function current() { var rows = rowsOf(); return selected >= 0 ? rows[selected] : null; }
  function press(selector) {
    var scope = current() || document;
    var el = scope.querySelector(selector) || document.querySelector(selector);
    if (!el) return false;
    if (el.tagName === "FORM") { submit(el); } else if (/^(TEXTAREA|INPUT|SELECT)$/.test(el.tagName)) { el.focus(); }
    else { el.click(); }
    return true;
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Escape" && overlay && !overlay.hidden) { toggleOverlay(false); return; }
    if (typing(e.target)) return;
    var handled = true;
    switch (e.key) {
      case "j": select(selected + 1); break;
      case "k": select(selected - 1); break;
      case "Enter":
        var row = current();
        if (row && row.getAttribute("data-href") && !e.target.closest("form")) { location.href = row.getAttribute("data-href"); }
        else { handled = false; }
        break;
      case "c": handled = press("form[data-claim]"); break;
      case "r": handled = press("[data-shortcut-reply]"); break;
      case "n": handled = press("[data-shortcut-note]"); break;
      case "/": handled = press("[data-shortcut-search]"); break;
      case "?": toggleOverlay(); break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });

  // ---- live parts: every [data-live-src] re-fetched on any event (debounced) ----
  function refresh(el) {
    var src = el.getAttribute("data-live-src");
    if (!src) return Promise.resolve();
    return fetch(src, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (resp) {
        if (resp.redirected && /\/sign-in/.test(resp.url)) { location.href = resp.url; return null; }
        return resp.ok ? resp.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        var keep = selected;
        el.innerHTML = html;
        countdowns();
        if (keep >= 0 && el.querySelector("[data-row]")) select(keep);
      })
      .catch(function () { /* the next event tries again */ });
  }
  // A part with data-live-ticket="<id>" is re-fetched only for events of that ticket (the ticket page).
  var touched = {};
  function refreshAll(all) {
    var seen = touched; touched = {};
    document.querySelectorAll("[data-live-src]").forEach(function (el) {
      var only = el.getAttribute("data-live-ticket");
      if (all === true || !only || seen[only] || seen["*"]) refresh(el);
    });
  }
  var timer = null;
  function schedule(e) {
    var id = "*";
    try { id = JSON.parse(e.data).ticket_id || "*"; } catch (err) { /* not an envelope: refresh every part */ }
    touched[id] = true;
    clearTimeout(timer); timer = setTimeout(refreshAll, 150);
  }
  document.querySelectorAll("[data-live-load]").forEach(refresh);
  if (document.querySelector("[data-live-src]") && window.EventSource) {
    var source = new EventSource("/live");
    source.onmessage = schedule;
    // what changed between the page's render and the stream's start, or while it reconnected, sent no event here
    source.addEventListener("open", function () { body.setAttribute("data-live", "on"); refreshAll(true); });
    source.onerror = function () { body.setAttribute("data-live", "reconnecting"); };
  }

  // ---- forms sent by fetch, with the CSRF header; their target re-rendered ----
  function submit(form) {
    if (!form.hasAttribute("data-fetch") || !window.fetch) { form.submit(); return; }
    var data = new FormData(form);
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin",
                         headers: { "X-CSRF-Token": csrf, "X-Requested-With": "fetch" } })
      .then(function (resp) {
        if (resp.redirected && /\/sign-in/.test(resp.url)) { location.href = resp.url; return; }
        if (!resp.ok) { return resp.text().then(function (html) { showError(form, html); }); }
        var target = form.getAttribute("data-target");
        var el = target ? document.querySelector(target) : null;
        if (el && el.hasAttribute("data-live-src")) { refresh(el); } else { refreshAll(true); }
      })
      .catch(function () { form.submit(); });
  }
  function showError(form, html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var msg = doc.querySelector("[role=alert]");
    var box = document.createElement("div");
    box.className = "banner"; box.setAttribute("role", "alert");
    box.textContent = msg ? msg.textContent : form.getAttribute("data-error") || "";
    var main = document.getElementById("main");
    var old = main.querySelector(":scope > .banner[data-from-fetch]");
    if (old) old.remove();
    box.setAttribute("data-from-fetch", "");
    main.insertBefore(box, main.firstChild);
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.hasAttribute("data-fetch")) { e.preventDefault(); submit(form); }
  });

  // ---- knowledge base: "insert into reply" records the link (POST with the CSRF header), then inserts ----
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute("data-insert-article") || !window.fetch) return;
    e.preventDefault();
    var panel = form.closest("[data-t-inserted]");
    var status = panel ? panel.querySelector("[data-insert-status]") : null;
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                         headers: { "X-CSRF-Token": csrf, "X-Requested-With": "fetch" } })
      .then(function (resp) {
        if (resp.redirected && /\/sign-in/.test(resp.url)) { location.href = resp.url; return null; }
        if (!resp.ok) { return resp.text().then(function (html) { showError(form, html); return null; }); }
        return resp.json();
      })
      .then(function (answer) {
        if (!answer) return;
        var box = document.querySelector("textarea[data-shortcut-reply]");
        if (box) {
          var at = box.selectionStart || box.value.length, before = box.value.slice(0, at);
          var text = (before && !/\n$/.test(before) ? "\n" : "") + answer.text + "\n";
          box.value = before + text + box.value.slice(box.selectionEnd || at);
          box.focus();
          box.selectionStart = box.selectionEnd = at + text.length;
        }
        if (status && panel) status.textContent = panel.getAttribute(box ? "data-t-inserted" : "data-t-no-reply");
      })
      .catch(function () { form.submit(); });
  });

  // ---- portal: articles suggested while a client types a new request (debounced; dismissed for good) ----
  var suggestBox = document.querySelector("[data-suggest-src]");
  if (suggestBox && window.fetch) {
    var suggestTimer = null, dismissed = false, asked = "";
    var suggest = function () {
      var text = Array.prototype.map.call(document.querySelectorAll("[data-suggest-input]"),
                                          function (el) { return el.value; }).join(" ").trim().slice(0, 1000);
      if (dismissed || text === asked) return;
      asked = text;
      fetch(suggestBox.getAttribute("data-suggest-src") + "?text=" + encodeURIComponent(text),
            { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (resp) { return resp.ok ? resp.text() : ""; })
        .then(function (html) {
          if (dismissed || text !== asked) return;
          suggestBox.innerHTML = html;
          suggestBox.hidden = !html.trim();
        })
        .catch(function () { /* the next keystroke tries again */ });
    };
    document.addEventListener("input", function (e) {
      if (!e.target.hasAttribute("data-suggest-input")) return;
      clearTimeout(suggestTimer); suggestTimer = setTimeout(suggest, 400);
    });
    document.addEventListener("click", function (e) {
      if (!e.target.closest("[data-suggestions-dismiss]")) return;
      dismissed = true; suggestBox.hidden = true;
      var send = document.querySelector("[data-suggest-input]").form.querySelector("button[type=submit].primary");
      if (send) send.focus();
    });
  }

  // ---- countdowns: <time data-countdown datetime="ISO"> ----
  var leftText = body.getAttribute("data-t-left") || "{time}";
  var overText = body.getAttribute("data-t-overdue") || "-{time}";
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600),
        m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + (m < 10 ? "0" : "") + m + "m";
    return m + ":" + (sec < 10 ? "0" : "") + sec;
  }
  function countdowns() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var ms = at - now;
      el.classList.toggle("overdue", ms < 0);
      el.textContent = (ms < 0 ? overText : leftText).replace("{time}", span(ms));
    });
  }
  countdowns();
  setInterval(countdowns, 1000);
})();
