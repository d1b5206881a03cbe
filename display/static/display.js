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
