// The status page's script: fetches /status/scoreboard.json every few seconds and draws it, in Persian
// (right to left, Persian digits, Jalali dates) or English. Charts are inline SVG drawn from the data.
// Text from the registry is only ever set as text, never as markup.

const REFRESH_MS = 5000;
const SVG = "http://www.w3.org/2000/svg";
const lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "fa";
const fa = lang === "fa";

const TEXT = {
  fa: {
    title: "وضعیت استعلام‌ها",
    other: "English",
    otherHref: "/status?lang=en",
    online: "برخط",
    degraded: "دارای افت کیفیت",
    offline: "قطع",
    not_connected: "متصل نشده",
    typesTitle: "استعلام‌ها",
    agenciesTitle: "دستگاه‌ها به ترتیب سهم استعلام‌های برخط",
    volumeTitle: "تعداد استعلام در دقیقه (یک ساعت اخیر)",
    latencyTitle: "تأخیر صدک ۹۵ در دقیقه (میلی‌ثانیه)",
    columns: ["وضعیت", "استعلام", "امروز", "موفقیت", "صدک ۵۰", "صدک ۹۵", "صدک ۹۹", "هدف", "نرخ مصرف", "قطع‌کن", "علت"],
    agencyColumns: ["رتبه", "دستگاه", "برخط", "سهم", "دسته", "روند روزانه", "روند هفتگی"],
    buckets: { above_90: "بیش از ۹۰٪", from_50_to_90: "۵۰ تا ۹۰٪", below_50: "کمتر از ۵۰٪", none: "۰٪" },
    breakers: { closed: "بسته", half_open: "نیمه‌باز", open: "باز", unspecified: "—" },
    of: (a, b) => `${a} از ${b}`,
    summary: (n, m) => `${n} از ${m} استعلام برخط`,
    meta: (when, rev, win, inst) => `به‌روز شده ${when} به وقت تهران · نسخهٔ رجیستری ${rev} · بازهٔ ${win} دقیقه · ${inst} نمونهٔ درگاه`,
    footer: "داده‌ها از همهٔ نمونه‌های درگاه که پایگاه داده را به اشتراک دارند؛ هر چند ثانیه به‌روز می‌شود.",
    failed: "خواندن وضعیت ممکن نشد؛ آخرین داده نمایش داده می‌شود.",
    volume: "حجم",
    faults: "خطا",
    ms: "م‌ث",
    latencyObjective: (ms, rate, p95) => `${p95 ? `صدک ۹۵ ≤ ${p95} م‌ث، ` : ""}صدک ۹۹ ≤ ${ms} م‌ث، ${rate}`,
    reasons: [
      [/^no connector binding$/, () => "اتصالی تعریف نشده"],
      [/^breaker open$/, () => "قطع‌کن باز است"],
      [/^every endpoint's breaker open$/, () => "قطع‌کن همهٔ نقطه‌های اتصال باز است"],
      [/^breaker (open|half open) on an endpoint$/, (m) => `قطع‌کن یک نقطهٔ اتصال ${m[1] === "open" ? "باز" : "نیمه‌باز"} است`],
      [/^all (\d+) inquiries of the last two minutes failed$/, (m) => `هر ${num(m[1])} استعلام دو دقیقهٔ اخیر ناموفق`],
      [/^success ([\d.]+) % under the ([\d.]+) % objective$/, (m) => `موفقیت ${num(m[1], 2)}٪ کمتر از هدف ${num(m[2], 2)}٪`],
      [/^p(99|95) (\d+) ms over the (\d+) ms objective$/, (m) => `صدک ${num(m[1])} ${num(m[2])} م‌ث بیش از هدف ${num(m[3])} م‌ث`],
    ],
  },
  en: {
    title: "Inquiry status",
    other: "فارسی",
    otherHref: "/status?lang=fa",
    online: "Online",
    degraded: "Degraded",
    offline: "Offline",
    not_connected: "Not connected",
    typesTitle: "Inquiry types",
    agenciesTitle: "Agencies by share of inquiry types online",
    volumeTitle: "Inquiries per minute (last hour)",
    latencyTitle: "p95 latency per minute (ms)",
    columns: ["Status", "Inquiry", "Today", "Success", "p50", "p95", "p99", "Objective", "Burn", "Breaker", "Why"],
    agencyColumns: ["Rank", "Agency", "Online", "Share", "Bucket", "Daily trend", "Weekly trend"],
    buckets: { above_90: "> 90 %", from_50_to_90: "50–90 %", below_50: "< 50 %", none: "0 %" },
    breakers: { closed: "closed", half_open: "half open", open: "open", unspecified: "—" },
    of: (a, b) => `${a} of ${b}`,
    summary: (n, m) => `${n} of ${m} inquiries online`,
    meta: (when, rev, win, inst) =>
      `Updated ${when} Tehran time · registry revision ${rev} · ${win}-minute window · ${inst} gateway instance(s)`,
    footer: "Counts from every gateway instance sharing the database; refreshed every few seconds.",
    failed: "The status could not be read; showing the last data.",
    volume: "volume",
    faults: "faults",
    ms: "ms",
    latencyObjective: (ms, rate, p95) => `${p95 ? `p95 ≤ ${p95} ms, ` : ""}p99 ≤ ${ms} ms, ${rate}`,
    reasons: [],
  },
}[lang];

const dateTime = new Intl.DateTimeFormat(fa ? "fa-IR-u-ca-persian" : "en-GB", {
  dateStyle: "long",
  timeStyle: "medium",
  timeZone: "Asia/Tehran",
});
const shortDate = new Intl.DateTimeFormat(fa ? "fa-IR-u-ca-persian" : "en-GB", { month: "short", day: "numeric", timeZone: "UTC" });
const clock = new Intl.DateTimeFormat(fa ? "fa-IR-u-ca-persian" : "en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Tehran" });

function num(value, digits = 0) {
  const n = Number(value);
  if (!Number.isFinite(n)) return "—";
  return new Intl.NumberFormat(fa ? "fa-IR" : "en-US", { maximumFractionDigits: digits }).format(n);
}
const pct = (v, digits = 1) => (v === undefined ? "—" : fa ? `${num(v * 100, digits)}٪` : `${num(v * 100, digits)} %`);
const ms = (v) => (v === undefined ? "—" : `${num(v, v < 10 ? 1 : 0)} ${TEXT.ms}`);
const short = (enumName, prefix) => (enumName ?? "").replace(prefix, "").toLowerCase();

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function reasonText(reason) {
  for (const [pattern, make] of TEXT.reasons) {
    const m = pattern.exec(reason);
    if (m !== null) return make(m);
  }
  return reason;
}

function summary(board) {
  const box = document.getElementById("summary");
  const types = board.inquiryTypes;
  const count = (s) => types.filter((t) => short(t.status, "INQUIRY_STATUS_") === s).length;
  box.replaceChildren(
    ...["online", "degraded", "offline", "not_connected"].map((s) =>
      el("div", { class: `card ${s}`, "data-status": s }, el("span", { class: "n" }, num(count(s))), el("span", {}, TEXT[s])),
    ),
  );
  box.setAttribute("aria-label", TEXT.summary(num(count("online")), num(types.length)));
}

function typesTable(board) {
  const table = document.getElementById("types");
  const head = el("tr", {}, ...TEXT.columns.map((c) => el("th", { scope: "col" }, c)));
  const order = { offline: 0, degraded: 1, not_connected: 2, online: 3 };
  const rows = [...board.inquiryTypes]
    .sort((a, b) => order[short(a.status, "INQUIRY_STATUS_")] - order[short(b.status, "INQUIRY_STATUS_")] || a.id.localeCompare(b.id))
    .map((t) => {
      const status = short(t.status, "INQUIRY_STATUS_");
      const breaker = short(t.breaker, "BREAKER_STATE_");
      const burn = t.errorBurn === undefined && t.latencyBurn === undefined ? "—" : num(Math.max(t.errorBurn ?? 0, t.latencyBurn ?? 0), 1);
      const o = t.objectives;
      const objective = o
        ? TEXT.latencyObjective(num(o.latencyP99Ms), pct(o.successRate, 1), o.latencyP95Ms === undefined ? undefined : num(o.latencyP95Ms))
        : "—";
      return el(
        "tr",
        { "data-inquiry-type": t.id, "data-status": status },
        el("td", {}, el("span", { class: `badge ${status}` }, TEXT[status])),
        el("td", { class: "name" }, el("span", {}, (fa ? t.title?.fa : t.title?.en) || t.id), el("span", { class: "id" }, t.id)),
        el("td", { class: "num" }, num(t.volumeToday)),
        el("td", { class: "num" }, pct(t.successRate, 2)),
        el("td", { class: "num" }, ms(t.p50Ms)),
        el("td", { class: "num" }, ms(t.p95Ms)),
        el("td", { class: "num" }, ms(t.p99Ms)),
        el("td", {}, objective),
        el("td", { class: "num" }, burn),
        el("td", {}, TEXT.breakers[breaker] ?? breaker),
        el("td", { class: "why" }, (t.reasons ?? []).map(reasonText).join(fa ? "؛ " : "; ")),
      );
    });
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
}

function sparkline(points) {
  const w = 120;
  const h = 24;
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img" });
  if (points.length === 0) return svg;
  const step = points.length > 1 ? w / (points.length - 1) : 0;
  const d = points
    .map((p, i) => `${i === 0 ? "M" : "L"}${(i * step).toFixed(1)},${(h - 2 - p.shareOnline * (h - 4)).toFixed(1)}`)
    .join(" ");
  svg.append(svgEl("path", { d, fill: "none", stroke: "#1a7f37", "stroke-width": 2 }));
  const last = points[points.length - 1];
  svg.append(svgEl("circle", { cx: (points.length - 1) * step, cy: h - 2 - last.shareOnline * (h - 4), r: 2.5, fill: "#1a7f37" }));
  const title = svgEl("title");
  title.textContent = points.map((p) => `${shortDate.format(new Date(`${p.date}T00:00:00Z`))}: ${pct(p.shareOnline, 0)}`).join(", ");
  svg.append(title);
  return svg;
}

function agenciesTable(board) {
  const table = document.getElementById("agencies");
  const head = el("tr", {}, ...TEXT.agencyColumns.map((c) => el("th", { scope: "col" }, c)));
  const rows = board.agencies.map((a) => {
    const bar = el("span", { class: "bar" }, el("span"));
    bar.firstChild.style.width = `${Math.round(a.shareOnline * 100)}%`;
    return el(
      "tr",
      { "data-agency": a.id, "data-bucket": short(a.bucket, "SHARE_BUCKET_") },
      el("td", { class: "num" }, num(a.rank)),
      el("td", {}, el("span", {}, (fa ? a.name?.fa : a.name?.en) || a.id), el("span", { class: "id" }, a.id)),
      el("td", { class: "num" }, TEXT.of(num(a.online), num(a.inquiryTypes))),
      el("td", {}, bar, " ", pct(a.shareOnline, 0)),
      el("td", {}, TEXT.buckets[short(a.bucket, "SHARE_BUCKET_")] ?? "—"),
      el("td", { class: "trend daily" }, sparkline(a.daily ?? [])),
      el("td", { class: "trend weekly" }, sparkline(a.weekly ?? [])),
    );
  });
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
  const bucketLine = document.getElementById("buckets");
  bucketLine.replaceChildren(
    ...board.buckets.map((b) =>
      el(
        "span",
        { "data-bucket": short(b.bucket, "SHARE_BUCKET_") },
        `${TEXT.buckets[short(b.bucket, "SHARE_BUCKET_")]}: ${num(b.agencies)}`,
      ),
    ),
  );
}

const PALETTE = ["#0b57d0", "#1a7f37", "#b26b00", "#8250df", "#c62828", "#0a7ea4", "#bf3989", "#57606a"];

/**
 * A chart of per-minute values: bars (`kind` "bar", volume with its faults in red) or lines, with a time
 * axis running left to right in both languages, as charts are usually read.
 */
function chart(container, minutes, series, kind) {
  const W = 600;
  const H = 220;
  const pad = { l: 44, r: 10, t: 10, b: 26 };
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
  const x = (i) => pad.l + ((W - pad.l - pad.r) * i) / Math.max(1, minutes.length - 1);
  const y = (v) => H - pad.b - ((H - pad.t - pad.b) * v) / max;
  for (const frac of [0, 0.5, 1]) {
    const v = max * frac;
    svg.append(svgEl("line", { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v), stroke: "#d0d7de" }));
    const label = svgEl("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#57606a" });
    label.textContent = num(v, v < 10 ? 1 : 0);
    svg.append(label);
  }
  const ends = { 0: "start", [minutes.length - 1]: "end" };
  for (const i of [0, Math.floor(minutes.length / 2), minutes.length - 1]) {
    if (minutes[i] === undefined) continue;
    const label = svgEl("text", { x: x(i), y: H - 6, "text-anchor": ends[i] ?? "middle", "font-size": 11, fill: "#57606a" });
    label.textContent = clock.format(new Date(minutes[i]));
    svg.append(label);
  }
  if (kind === "bar") {
    const bw = Math.max(1, (W - pad.l - pad.r) / minutes.length - 1);
    const [total, faults] = series;
    total.values.forEach((v, i) => {
      if (v <= 0) return;
      svg.append(svgEl("rect", { x: x(i) - bw / 2, y: y(v), width: bw, height: y(0) - y(v), fill: total.color }));
      const f = faults.values[i];
      if (f > 0) svg.append(svgEl("rect", { x: x(i) - bw / 2, y: y(f), width: bw, height: y(0) - y(f), fill: faults.color }));
    });
  } else {
    for (const s of series) {
      const d = s.values.map((v, i) => `${i === 0 ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      svg.append(svgEl("path", { d, fill: "none", stroke: s.color, "stroke-width": 1.8 }));
    }
  }
  container.replaceChildren(svg);
}

function charts(board) {
  const types = board.inquiryTypes.filter((t) => (t.series ?? []).length > 0);
  const minutes = (types[0]?.series ?? []).map((p) => Date.parse(p.minute));
  const sum = (field) => minutes.map((_, i) => types.reduce((acc, t) => acc + Number(t.series[i]?.[field] ?? 0), 0));
  chart(
    document.getElementById("volume-chart"),
    minutes,
    [
      { name: TEXT.volume, color: "#0b57d0", values: sum("volume") },
      { name: TEXT.faults, color: "#c62828", values: sum("faults") },
    ],
    "bar",
  );
  const active = types.filter((t) => t.series.some((p) => (p.p95Ms ?? 0) > 0)).slice(0, PALETTE.length);
  const lines = active.map((t, i) => ({ name: t.id, color: PALETTE[i], values: t.series.map((p) => p.p95Ms ?? 0) }));
  chart(document.getElementById("latency-chart"), minutes, lines, "line");
  const legend = document.getElementById("latency-legend");
  legend.replaceChildren(
    ...lines.map((l) => {
      const swatch = el("i");
      swatch.style.background = l.color;
      return el("li", {}, swatch, el("span", { class: "code" }, l.name));
    }),
  );
}

function render(board) {
  document.getElementById("meta").textContent = TEXT.meta(
    dateTime.format(new Date(board.generatedAt)),
    num(board.registryRevision),
    num(board.windowMinutes),
    num(board.instances.length),
  );
  summary(board);
  typesTable(board);
  charts(board);
  agenciesTable(board);
  document.body.dataset.generatedAt = board.generatedAt;
}

async function refresh() {
  const problem = document.getElementById("problem");
  try {
    const response = await fetch("/status/scoreboard.json", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    problem.hidden = true;
  } catch {
    problem.textContent = TEXT.failed;
    problem.hidden = false;
  }
}

function start() {
  document.documentElement.lang = lang;
  document.documentElement.dir = fa ? "rtl" : "ltr";
  document.title = `${TEXT.title} — Estelam`;
  document.getElementById("title").textContent = TEXT.title;
  const other = document.getElementById("switch");
  other.textContent = TEXT.other;
  other.href = TEXT.otherHref;
  other.hreflang = fa ? "en" : "fa";
  document.getElementById("types-title").textContent = TEXT.typesTitle;
  document.getElementById("agencies-title").textContent = TEXT.agenciesTitle;
  document.getElementById("volume-title").textContent = TEXT.volumeTitle;
  document.getElementById("latency-title").textContent = TEXT.latencyTitle;
  document.getElementById("footer").textContent = TEXT.footer;
  refresh();
  setInterval(refresh, REFRESH_MS);
}

start();
