// The shopper's display: shows the till's current view (server-sent events from /events).
// Every text is set with textContent: a name is shown as text, never read as markup.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  function text(id, value) {
    $(id).textContent = value || "";
  }

  function figures(id, list) {
    const dl = $(id);
    const rows = [];
    for (const f of list || []) {
      const row = document.createElement("div");
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = f.label;
      dd.textContent = f.value;
      dd.dir = "auto";
      row.append(dt, dd);
      rows.push(row);
    }
    dl.replaceChildren(...rows);
  }

  function rewards(list) {
    const items = [];
    for (const r of list || []) {
      const li = document.createElement("li");
      li.className = (r.affordable ? "affordable" : "locked") + (r.picked ? " picked" : "");
      const name = document.createElement("span");
      const cost = document.createElement("span");
      name.className = "name";
      cost.className = "cost";
      name.textContent = r.name;
      cost.textContent = r.cost;
      li.append(name, cost);
      items.push(li);
    }
    $("rewards").replaceChildren(...items);
  }

  let qrFor = "";

  // -- the shopper's input (display/touch.py): only a page opened with the till's pairing
  // token (/?pair=...) may answer, and only while the till asks; what it says comes from the
  // view (translated by the till) and from the server's answer.
  const pair = new URLSearchParams(location.search).get("pair") || "";
  let ask = null;
  let waiting = false;
  let asked = 0;  // views of an ask seen: the till's answer may come before the server's

  function say(value) {
    text("ask-status", value);
  }

  function askView(a) {
    const session = a ? a.session : "";
    if (!ask || ask.session !== session) {
      $("phone").value = "";
      say("");
    }
    waiting = false;  // a view from the till (an ask, or the same ask again): may answer
    asked += 1;
    ask = a;
    document.body.dataset.ask = a ? a.kind : "";
    document.body.dataset.askSession = session;
    document.body.dataset.paired = pair ? "yes" : "no";
    if (!a) return;
    text("ask-title", a.title);
    text("ask-hint", a.hint);
    text("terms-text", a.terms);
    text("terms-version", a.version);
    text("ask-ok", a.ok);
    text("ask-cancel", a.cancel);
    if (a.status) say(a.status);
  }

  async function answer(value) {
    if (!ask || !pair || waiting) return;  // a second tap while the first is on its way
    waiting = true;
    document.body.dataset.pending = "yes";
    const a = ask;
    const seen = asked;
    let code = "";
    try {
      const response = await fetch("/input", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({token: pair, session: a.session, kind: a.kind, value: value}),
        cache: "no-store",
      });
      code = (await response.json()).answer || "";
    } catch (e) {
      code = "unreachable";
    }
    document.body.dataset.pending = "no";
    document.body.dataset.answer = code;  // what the till's server said (tests read it)
    if (ask !== a && (!ask || ask.session !== a.session)) return;  // the till moved on
    if (asked !== seen) return;  // the till already answered what was sent (it asked again)
    if (code === "sent") {
      say(a.sent);
      $("phone").value = "";
    } else if (code === "malformed") {
      say(a.malformed);
    } else if (code === "too_many") {
      say(a.too_many);
    }
    // Sent: the next answer waits for the till (it asks again, or the ask ends).
    waiting = code === "sent";
  }

  function key(k) {
    const phone = $("phone");
    if (k === "back") phone.value = phone.value.slice(0, -1);
    else if (phone.value.length < 40) phone.value += k;
  }

  $("keypad").addEventListener("click", (event) => {
    const k = event.target.dataset && event.target.dataset.key;
    if (k) key(k);
  });
  $("phone").addEventListener("keydown", (event) => {
    if (event.key === "Enter") answer($("phone").value);
  });
  $("ask-ok").addEventListener("click", () => {
    if (ask) answer(ask.kind === "phone" ? $("phone").value : true);
  });
  $("ask-cancel").addEventListener("click", () => {
    if (!ask) return;
    if (ask.kind === "phone") { $("phone").value = ""; say(""); } else answer(false);
  });

  function render(view) {
    const root = document.documentElement;
    root.lang = view.lang;
    root.dir = view.direction === "rtl" ? "rtl" : "ltr";
    document.body.dataset.screen = view.screen;
    text("program", view.program);
    text("headline", view.headline);
    const m = view.member || {};
    // The first name as an isolated run: a right-to-left name in a left-to-right greeting
    // (or the reverse) stays in its place.
    const greeting = m.greeting || "";
    const at = m.first_name ? greeting.indexOf(m.first_name) : -1;
    if (at >= 0) {
      const name = document.createElement("bdi");
      name.id = "first-name";
      name.textContent = m.first_name;
      $("greeting").replaceChildren(
        greeting.slice(0, at), name, greeting.slice(at + m.first_name.length));
    } else {
      text("greeting", greeting);
    }
    text("tier", m.tier);
    text("progress-text", m.progress);
    $("progress-bar").style.width = (m.progress_percent || 0) + "%";
    figures("figures", m.figures);
    const b = view.basket || {};
    text("basket-heading", b.heading);
    figures("earns", b.earns);
    figures("earn-total", b.total ? [b.total] : []);
    text("rewards-heading", b.rewards_heading);
    rewards(b.rewards);
    const e = view.end || {};
    text("end-heading", e.heading);
    figures("end-figures", e.figures);
    text("qr-caption", e.qr_caption);
    const qr = $("qr");
    if (e.qr_url) {
      if (qrFor !== e.qr_url) {
        qr.src = "/qr.svg?u=" + encodeURIComponent(e.qr_url);
        qrFor = e.qr_url;
      }
      $("qr-box").hidden = false;
    } else {
      qr.removeAttribute("src");
      qrFor = "";
      $("qr-box").hidden = true;
    }
    askView(view.screen === "ask" ? view.ask : null);
    document.body.dataset.version = String(view.version || "");
  }

  function connect() {
    const source = new EventSource("/events");
    source.onopen = () => { document.body.dataset.connected = "yes"; };
    source.onerror = () => { document.body.dataset.connected = "no"; };
    source.onmessage = (event) => {
      const view = JSON.parse(event.data);
      view.version = event.lastEventId;
      render(view);
    };
  }

  connect();
})();
