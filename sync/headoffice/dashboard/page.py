"""The dashboard's HTML, from a report document (sync/headoffice/reports) and ``Words``: the
period form, headline figures, two SVG charts, the cohort heat map, the tills' sync health with
a drill-down link each, and the CSV download. Every text is escaped; nothing is fetched from
anywhere but head office (the style sheet is inline)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import urlencode

from sync.headoffice.dashboard import LANGUAGES, Words
from sync.headoffice.dashboard.svg import bars

STYLE = """
html{font-family:system-ui,'Noto Sans','Till Thai','Till Naskh',sans-serif}
@font-face{font-family:'Till Thai';src:url('/dashboard/fonts/NotoSansThai-Regular.ttf')}
@font-face{font-family:'Till Thai';font-weight:600 700;
src:url('/dashboard/fonts/NotoSansThai-Bold.ttf')}
@font-face{font-family:'Till Naskh';src:url('/dashboard/fonts/NotoNaskhArabic-Regular.ttf')}
@font-face{font-family:'Till Naskh';font-weight:600 700;
src:url('/dashboard/fonts/NotoNaskhArabic-Bold.ttf')}
html[lang=th]{font-family:'Till Thai',system-ui,sans-serif}
html[lang=fa]{font-family:'Till Naskh',system-ui,sans-serif}
body{font-family:inherit;margin:0;
background:#f6f5f1;color:#222}
header{background:#2f4f3a;color:#fff;padding:.8rem 1.2rem;display:flex;flex-wrap:wrap;
gap:1rem;align-items:center;justify-content:space-between}
header a{color:#fff;margin:0 .3rem}main{padding:1rem 1.2rem;max-width:1100px}
form.period{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin-bottom:1rem}
label{display:flex;flex-direction:column;font-size:.85rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:.7rem}
.card{background:#fff;border-radius:6px;padding:.7rem;box-shadow:0 1px 2px #0002}
.card .figure{font-size:1.5rem;font-weight:600;margin-top:.2rem}
.card .label{font-size:.85rem;color:#555}
section{margin-top:1.4rem}h2{font-size:1.1rem}button,select,input{font:inherit}
svg.chart{width:100%;max-width:640px;background:#fff;border-radius:6px}
.bar.a{fill:#4f7f5a}.bar.b{fill:#c98b2b}.axis{stroke:#999}.tick{font-size:10px;fill:#555}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem}
table{border-collapse:collapse;background:#fff}td,th{padding:.3rem .5rem;border:1px solid #ddd;
text-align:end}th{background:#eee}.error{background:#fde2e1;padding:.6rem;border-radius:6px}
"""


def _page(words: Words, title: str, body: str) -> str:
    direction = "rtl" if words.right_to_left else "ltr"
    return (
        f'<!DOCTYPE html><html lang="{escape(words.lang)}" dir="{direction}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def sign_in(words: Words, failed: bool) -> str:
    w = words
    error = (
        f'<p class="error" id="error">{escape(w("dashboard.sign_in_failed"))}</p>' if failed else ""
    )
    body = (
        f'<header><h1>{escape(w("dashboard.title"))}</h1>{_languages(w, {})}</header><main>'
        f'<h2>{escape(w("dashboard.sign_in_title"))}</h2>{error}'
        '<form method="post" action="/dashboard/sign-in">'
        f'<input type="hidden" name="lang" value="{escape(w.lang)}">'
        f'<label>{escape(w("dashboard.token"))}<input type="password" name="token" id="token" '
        'autocomplete="current-password" required></label> '
        f'<button type="submit" id="sign-in">{escape(w("dashboard.sign_in"))}</button>'
        "</form></main>"
    )  # fmt: skip
    return _page(w, w("dashboard.title"), body)


def _languages(words: Words, query: Mapping[str, str]) -> str:
    links = []
    for lang in LANGUAGES:
        href = "/dashboard?" + urlencode({**query, "lang": lang})
        current = ' aria-current="true"' if lang == words.lang else ""
        links.append(f'<a href="{escape(href)}" hreflang="{lang}"{current}>{lang}</a>')
    return f'<nav class="languages">{"".join(links)}</nav>'


def ltr(text: str) -> str:
    """A date, a bucket or a till id kept left to right inside right-to-left text (Unicode's
    left-to-right isolate), so 2026-11-01 never reads 01-11-2026 on the Persian page."""
    return f"\u2066{text}\u2069"


def _percent(words: Words, rate: Mapping[str, Any]) -> str:
    bp = rate.get("basis_points")
    if bp is None:
        return words("dashboard.none")
    return words("dashboard.percent", value=words.number(int(bp) // 100))


def _card(label: str, figure: str, key: str) -> str:
    return (
        f'<div class="card" id="kpi-{key}"><div class="label">{escape(label)}</div>'
        f'<div class="figure">{escape(figure)}</div></div>'
    )


def dashboard(
    doc: Mapping[str, Any] | None,
    words: Words,
    query: Mapping[str, str],
    shops: Sequence[str],
    error: str | None = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """``names``: the program's own names of its tiers and rewards in the page's language
    (program data, not codes), by id; an id without one is shown as it is."""
    w = words
    head = (
        f"<header><h1>{escape(w('dashboard.title'))}</h1>{_languages(w, query)}"
        '<form method="post" action="/dashboard/sign-out">'
        f'<button type="submit">{escape(w("dashboard.sign_out"))}</button></form></header>'
    )
    parts = [head, "<main>", _form(w, query, shops)]
    if error is not None:
        parts.append(f'<p class="error" id="error">{escape(error)}</p>')
    if doc is not None:
        parts += [_headline(w, doc), _charts(w, doc), _cohorts(w, doc),
                  _tiers_rewards(w, doc, names or {}), _engagement(w, doc, names or {}),
                  _tills(w, doc, query)]  # fmt: skip
    parts.append("</main>")
    return _page(w, w("dashboard.title"), "".join(parts))


def _form(w: Words, query: Mapping[str, str], shops: Sequence[str]) -> str:
    by = query.get("by", "day")
    options = "".join(
        f'<option value="{g}"{" selected" if g == by else ""}>{escape(w(f"dashboard.by_{g}"))}'
        "</option>"
        for g in ("day", "week", "month")
    )
    shop = query.get("shop", "")
    tills = [f'<option value="">{escape(w("dashboard.chain"))}</option>'] + [
        f'<option value="{escape(s)}"{" selected" if s == shop else ""}>{escape(s)}</option>'
        for s in shops
    ]
    csv = "/dashboard/kpis.csv?" + urlencode({k: v for k, v in query.items() if k != "lang"})
    return (
        '<form class="period" method="get" action="/dashboard">'
        f'<input type="hidden" name="lang" value="{escape(w.lang)}">'
        f'<label>{escape(w("dashboard.from"))}<input type="date" name="from" '
        f'value="{escape(query.get("from", ""))}"></label>'
        f'<label>{escape(w("dashboard.to"))}<input type="date" name="to" '
        f'value="{escape(query.get("to", ""))}"></label>'
        f'<label>{escape(w("dashboard.by"))}<select name="by">{options}</select></label>'
        f'<label>{escape(w("dashboard.shop"))}<select name="shop" id="shop">{"".join(tills)}'
        "</select></label>"
        f'<button type="submit" id="show">{escape(w("dashboard.show"))}</button>'
        f'<a id="csv" href="{escape(csv)}" download>{escape(w("dashboard.download_csv"))}</a>'
        "</form>"
    )


def _headline(w: Words, doc: Mapping[str, Any]) -> str:
    whole, out, cur = doc["period"], doc["outstanding"], doc["currency"]
    q = doc["query"]
    scope = w("dashboard.scope_shop", shop=ltr(q["shop"])) if q["shop"] else w("dashboard.chain")
    aov = whole["member_aov_minor"]
    value = out["value_minor"]["available"]
    active = whole["active_members"]
    cards = [
        ("enrolments", w("dashboard.enrolments"), w.number(whole["enrolments"])),
        ("buying-members", w("dashboard.buying_members"), w.number(whole["buying_members"])),
        ("repeat-rate", w("dashboard.repeat_rate"), _percent(w, whole["repeat_purchase_rate"])),
        ("aov", w("dashboard.aov"), w("dashboard.none") if aov is None else w.money(aov, cur)),
        ("points-issued", w("dashboard.points_issued"), w.number(whole["points_issued"])),
        ("points-redeemed", w("dashboard.points_redeemed"), w.number(whole["points_redeemed"])),
        ("redemption-rate", w("dashboard.redemption_rate"),
         _percent(w, whole["redemption_rate"])),
        ("breakage", w("dashboard.breakage"), _percent(w, whole["breakage_rate"])),
        ("outstanding", w("dashboard.outstanding"), w.number(out["points"]["available"])),
        ("outstanding-value", w("dashboard.outstanding_value"),
         w("dashboard.none") if value is None else w.money(value, cur)),
        ("pending", w("dashboard.pending"), w.number(out["points"]["pending"])),
        ("expiring", w("dashboard.expiring_90"), w.number(out["points"]["expiring_90d"])),
        ("active", w("dashboard.active"),
         " / ".join(w.number(active[k]) for k in ("30d", "90d", "365d"))),
        ("referrals", w("dashboard.referrals_credited"),
         w.number(whole["referrals"]["credited"])),
    ]  # fmt: skip
    period = w("dashboard.period", start=ltr(q["from"]), end=ltr(q["to"]))
    as_of = w("dashboard.as_of", when=ltr(q["as_of"][:16].replace("T", " ")))
    return (
        f'<section><h2 id="scope">{escape(scope)} · {escape(period)}</h2><div class="cards">'
        + "".join(_card(label, figure, key) for key, label, figure in cards)
        + f'</div><p class="label">{escape(as_of)}</p>'
        "</section>"
    )


def _charts(w: Words, doc: Mapping[str, Any]) -> str:
    buckets = doc["buckets"]
    labels = [ltr(b["bucket"]) for b in buckets]
    points = bars(
        w("dashboard.chart_points"),
        labels,
        [
            (w("dashboard.series_issued"), [b["points_issued"] for b in buckets], "a"),
            (w("dashboard.series_redeemed"), [b["points_redeemed"] for b in buckets], "b"),
        ],
    )
    purchases = bars(
        w("dashboard.chart_purchases"),
        labels,
        [
            (w("dashboard.series_purchases"), [b["purchases"] for b in buckets], "a"),
            (w("dashboard.series_buyers"), [b["buying_members"] for b in buckets], "b"),
        ],
    )

    def legend(a: str, b: str) -> str:
        return (
            f'<p class="legend"><span class="bar a" style="background:#4f7f5a"></span>'
            f'{escape(w(a))}<span style="background:#c98b2b"></span>{escape(w(b))}</p>'
        )

    return (
        f'<section id="chart-points"><h2>{escape(w("dashboard.chart_points"))}</h2>{points}'
        f"{legend('dashboard.series_issued', 'dashboard.series_redeemed')}</section>"
        f'<section id="chart-purchases"><h2>{escape(w("dashboard.chart_purchases"))}</h2>'
        f"{purchases}{legend('dashboard.series_purchases', 'dashboard.series_buyers')}"
        "</section>"
    )


def _heat(bp: int | None) -> str:
    if bp is None:
        return "#fff"
    lightness = 95 - min(10_000, bp) * 55 // 10_000
    return f"hsl(140,40%,{lightness}%)"


def _cohorts(w: Words, doc: Mapping[str, Any]) -> str:
    rows = doc["cohorts"]
    title = f"<h2>{escape(w('dashboard.cohorts'))}</h2>"
    if not rows:
        return f'<section id="cohorts">{title}<p>{escape(w("dashboard.no_cohorts"))}</p></section>'
    width = max(len(r["months"]) for r in rows)
    head = "".join(f"<th>{escape(w('dashboard.month_offset', offset=w.number(i)))}</th>"
                   for i in range(width))  # fmt: skip
    body = []
    for r in rows:
        cells = "".join(
            f'<td style="background:{_heat(m["basis_points"])}">{escape(_percent(w, m))}</td>'
            for m in r["months"]
        )
        body.append(f"<tr><th>{escape(ltr(r['cohort']))}</th><td>{escape(w.number(r['members']))}"
                    f"</td>{cells}</tr>")  # fmt: skip
    return (
        f'<section id="cohorts">{title}<table><tr><th>{escape(w("dashboard.cohort"))}</th>'
        f"<th>{escape(w('dashboard.cohort_members'))}</th>{head}</tr>{''.join(body)}</table>"
        "</section>"
    )


def _tiers_rewards(w: Words, doc: Mapping[str, Any], names: Mapping[str, str]) -> str:
    tiers = "".join(
        f"<tr><th>{escape(names.get(t, t))}</th><td>{escape(w.number(count))}</td></tr>"
        for t, count in doc["tiers"]["distribution_now"].items()
    )
    cur = doc["currency"]
    names = {"points_payment": w("dashboard.points_payment"), **names}
    rewards = "".join(
        f"<tr><th>{escape(names.get(r, r))}</th><td>{escape(w.number(v['redeemed']))}</td>"
        f"<td>{escape(w.number(v['points']))}</td><td>{escape(w.money(v['value_minor'], cur))}"
        "</td></tr>"
        for r, v in doc["period"]["by_reward"].items()
    )
    donations = "".join(
        f"<tr><th>{escape(charity)}</th><td>{escape(w.money(minor, cur))}</td></tr>"
        for charity, minor in doc["period"]["donations_by_charity_minor"].items()
    )
    keys = ("dashboard.reward", "dashboard.times_redeemed", "dashboard.points", "dashboard.value")
    head = "".join(f"<th>{escape(w(k))}</th>" for k in keys)
    return (
        f'<section id="tiers"><h2>{escape(w("dashboard.tiers_now"))}</h2><table>{tiers}'
        f'</table></section><section id="rewards"><h2>{escape(w("dashboard.rewards"))}</h2>'
        f"<table><tr>{head}</tr>{rewards}</table></section>"
        f'<section id="donations"><h2>{escape(w("dashboard.donations"))}</h2>'
        f"<table>{donations}</table></section>"
    )


def _engagement(w: Words, doc: Mapping[str, Any], names: Mapping[str, str]) -> str:
    rows = "".join(
        f"<tr><th>{escape(names.get('engage:' + action, action))}</th>"
        + "".join(f"<td>{escape(w.number(v[k]))}</td>"
                  for k in ("events", "points", "taken_back", "points_taken_back"))
        + "</tr>"
        for action, v in doc["period"]["engagement_by_action"].items()
    )  # fmt: skip
    keys = ("dashboard.action", "dashboard.events", "dashboard.points", "dashboard.taken_back",
            "dashboard.points_taken_back")  # fmt: skip
    head = "".join(f"<th>{escape(w(k))}</th>" for k in keys)
    none = "" if rows else f"<p>{escape(w('dashboard.none'))}</p>"
    return (
        f'<section id="engagement"><h2>{escape(w("dashboard.engagement"))}</h2>'
        + (f"<table><tr>{head}</tr>{rows}</table>" if rows else none)
        + "</section>"
    )


def _tills(w: Words, doc: Mapping[str, Any], query: Mapping[str, str]) -> str:
    rows = []
    for t in doc["tills"]:
        href = "/dashboard?" + urlencode({**query, "shop": t["terminal_id"]})
        age = t["queue_age_at_last_push_s"]
        pushed = (t["last_push"] or "")[:16].replace("T", " ")
        rows.append(
            f'<tr><th><a class="drill" href="{escape(href)}">{escape(t["terminal_id"])}</a></th>'
            f"<td>{escape(ltr(pushed) if pushed else w('dashboard.never'))}</td>"
            f"<td>{escape(w('dashboard.none') if age is None else w.number(age // 60))}</td>"
            f"<td>{escape(w.number(t['open_alerts']))}</td>"
            f"<td>{escape(w.number(t['held_undecided']))}</td></tr>"
        )
    head = "".join(f"<th>{escape(w(k))}</th>" for k in (
        "dashboard.till", "dashboard.last_push", "dashboard.queue_age", "dashboard.alerts",
        "dashboard.held"))  # fmt: skip
    return (
        f'<section id="tills"><h2>{escape(w("dashboard.tills"))}</h2><table><tr>{head}</tr>'
        f"{''.join(rows)}</table></section>"
    )
