// TrendFlow author page: pick or upload a video, send /v1/predict, show its answer without a reload.
// Plain JS (no build). Every number shown comes from an API answer; the exact value sits in data-value.
"use strict";

const T = {
  en: {
    skip: "Skip to the forecast", tagline: "How will your video grow?", step_video: "Your video",
    search_label: "Find a video by id or title", search_placeholder: "e.g. vid0003 or a word of the title",
    or: "or", upload_label: "Upload a video file", step_counters: "First counters",
    counters_hint: "The numbers at the first snapshot, when you read them. Filled in from the dataset when it has the video.",
    viewCount: "Views", likeCount: "Likes", commentCount: "Comments", collected_at: "Read at (UTC)",
    video_facts: "Video and channel", title: "Title", publishedAt: "Published (UTC)", channelTitle: "Channel",
    subscriberCount: "Subscribers", videoCount: "Videos on the channel", viewCount_channel: "Channel views",
    model: "Model", model_auto: "Best available", submit: "Forecast", summary: "What to change",
    timeline: "Shot timeline", quality: "quality", motion: "motion", loudness: "loudness",
    empty_title: "Your forecast shows up here",
    empty_text: "Pick a video or upload one, check its first counters and press Forecast. You get views and likes at 7, 14 and 21 days with their ranges, what is strong and weak, three actions, and a timeline of your shots.",
    no_match: "No video matches.", in_store: "analysed", in_dataset: "dataset", uploaded: "Uploaded",
    change: "Change", limits: (mb, s) => `up to ${mb} and ${s}`, uploading: "Uploading…",
    working: "Working… a new video is analysed first (about a minute).", working_short: "Working…",
    views: "Views", likes: "Likes", comments: "Comments", day: "day", days: "days", now: "now",
    total: "Forecast", interval: "Range", growth: "Growth", horizon: "In", by_day: (d) => `by day ${d}`,
    answered: (m) => `Model ${m}`, fallback_title: "The first choice did not answer:",
    bucket: (b) => `age ${b}`, error_title: "The service said:", error_net: "The service cannot be reached.",
    strong: "What is strong", weak: "What is weak", actions: "Three actions", why: "Why",
    no_summary: "The service gave no summary for this forecast.", nothing: "—",
    shots_note: (n, s) => `${n} shot${n === 1 ? "" : "s"} · ${s}. Red frames: weak shots (low quality score).`,
    no_shots: "No shot artifacts for this video.", no_thumb: "no picture", shot: "Shot",
    features: (c, run) => `Features: ${c ? "from the artifacts" : "extracted now"} (run ${run}).`,
    q_label: "quality score", m_label: "motion", l_label: "short-term loudness", weak_shot: "weak",
    mb: "MB", gb: "GB",
  },
  ru: {
    skip: "К прогнозу", tagline: "Как вырастет ваше видео?", step_video: "Ваше видео",
    search_label: "Найдите видео по id или названию", search_placeholder: "например, vid0003 или слово из названия",
    or: "или", upload_label: "Загрузите видеофайл", step_counters: "Первые счётчики",
    counters_hint: "Числа первого снимка — на момент, когда вы их посмотрели. Заполняются из датасета, если видео там есть.",
    viewCount: "Просмотры", likeCount: "Лайки", commentCount: "Комментарии", collected_at: "Когда сняты (UTC)",
    video_facts: "Видео и канал", title: "Название", publishedAt: "Опубликовано (UTC)", channelTitle: "Канал",
    subscriberCount: "Подписчики", videoCount: "Видео на канале", viewCount_channel: "Просмотры канала",
    model: "Модель", model_auto: "Лучшая доступная", submit: "Прогноз", summary: "Что изменить",
    timeline: "Шкала кадров", quality: "качество", motion: "движение", loudness: "громкость",
    empty_title: "Здесь появится прогноз",
    empty_text: "Выберите или загрузите видео, проверьте первые счётчики и нажмите «Прогноз». Вы увидите просмотры и лайки через 7, 14 и 21 день с диапазонами, сильные и слабые стороны, три действия и шкалу кадров.",
    no_match: "Ничего не найдено.", in_store: "разобрано", in_dataset: "датасет", uploaded: "Загружено",
    change: "Сменить", limits: (mb, s) => `до ${mb} и ${s}`, uploading: "Загрузка…",
    working: "Считаем… новое видео сначала разбирается (около минуты).", working_short: "Считаем…",
    views: "Просмотры", likes: "Лайки", comments: "Комментарии", day: "день", days: "дн.", now: "сейчас",
    total: "Прогноз", interval: "Диапазон", growth: "Прирост", horizon: "Через", by_day: (d) => `к ${d}-му дню`,
    answered: (m) => `Модель ${m}`, fallback_title: "Основная модель не ответила:",
    bucket: (b) => `возраст ${b}`, error_title: "Ответ сервиса:", error_net: "Сервис недоступен.",
    strong: "Сильные стороны", weak: "Слабые стороны", actions: "Три действия", why: "Почему",
    no_summary: "Сервис не дал пояснений к этому прогнозу.", nothing: "—",
    shots_note: (n, s) => `Кадров: ${n} · ${s}. Красная рамка — слабый кадр (низкая оценка качества).`,
    no_shots: "Для этого видео нет данных по кадрам.", no_thumb: "нет картинки", shot: "Кадр",
    features: (c, run) => `Признаки: ${c ? "из артефактов" : "посчитаны сейчас"} (запуск ${run}).`,
    q_label: "оценка качества", m_label: "движение", l_label: "кратковременная громкость", weak_shot: "слабый",
    mb: "МБ", gb: "ГБ",
  },
};
const COUNTERS = ["viewCount", "likeCount", "commentCount", "subscriberCount", "videoCount", "viewCount_channel"];
const SNAPSHOT_OF = { views: "viewCount", likes: "likeCount", comments: "commentCount" };
// SPEC §3 age buckets at snapshot 1
const BUCKETS = { en: { lt_24h: "< 24 h", d1_30: "1–30 d", gt_30d: "> 30 d" },
                  ru: { lt_24h: "< 24 ч", d1_30: "1–30 дн.", gt_30d: "> 30 дн." } };

const $ = (sel) => document.querySelector(sel);
const state = {
  locale: "en", config: null, video: null, prefill: {}, lastBody: null, lastAnswer: null, results: [], active: -1,
};

function t(key, ...args) {
  const v = T[state.locale][key] ?? T.en[key] ?? key;
  return typeof v === "function" ? v(...args) : v;
}
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
  return e;
}
function fmt(v) { return v === null || v === undefined ? t("nothing") : Math.round(v).toLocaleString(state.locale === "ru" ? "ru-RU" : "en-US"); }
function compact(v) {
  return new Intl.NumberFormat(state.locale === "ru" ? "ru-RU" : "en-US", { notation: "compact", maximumFractionDigits: 1 }).format(v);
}
function mmss(sec) { const s = Math.max(0, Math.round(sec)); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`; }

// ------------------------------------------------------------------ API calls
async function api(path, options = {}) {
  let resp;
  try { resp = await fetch(path, options); } catch (e) { throw new Error(t("error_net")); }
  const text = await resp.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
  if (!resp.ok) throw new Error(apiMessage(body, text, resp.status));
  return body;
}
// The API's own words: FastAPI's {"detail": "..."} or its 422 list of {loc, msg}.
function apiMessage(body, text, status) {
  const d = body && body.detail !== undefined ? body.detail : null;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    return d.map((e) => {
      const loc = (e.loc || []).filter((p) => p !== "body").join(".");
      return loc ? `${loc}: ${e.msg}` : e.msg;
    }).join("\n");
  }
  if (d) return JSON.stringify(d);
  return text ? text.slice(0, 400) : `HTTP ${status}`;
}
function showError(message) {
  const box = $("#error");
  box.replaceChildren(el("b", { text: t("error_title") }), document.createTextNode(message));
  box.hidden = false;
  markInvalid(message);
}
function clearError() { $("#error").hidden = true; document.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid")); }
function markInvalid(message) {
  for (const line of message.split("\n")) {
    const m = line.match(/^(?:snapshot|metadata)\.([A-Za-z_]+)/);
    const input = m && document.getElementById(m[1]);
    if (input) input.setAttribute("aria-invalid", "true");
  }
}

// ------------------------------------------------------------------ locale
function applyLocale(locale) {
  state.locale = locale;
  document.documentElement.lang = locale;
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((n) => { n.placeholder = t(n.dataset.i18nPlaceholder); });
  document.querySelectorAll(".seg").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.locale === locale)));
  showLimits();
  renderSelected();
  try { localStorage.setItem("trendflow-locale", locale); } catch (e) { /* private mode */ }
}
function showLimits() {
  const c = state.config;
  if (!c) return;
  const mb = c.max_upload_bytes >= 2 ** 30 ? `${(c.max_upload_bytes / 2 ** 30).toFixed(1)} ${t("gb")}`
    : `${Math.round(c.max_upload_bytes / 2 ** 20)} ${t("mb")}`;
  $("#upload-limits").textContent = t("limits", mb, mmss(c.max_video_seconds));
}

// ------------------------------------------------------------------ search
let searchTimer = null;
let searchSeq = 0;
function onSearchInput() {
  searchSeq++;  // answers to earlier queries still in flight are now stale
  clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, 200);
}
async function runSearch() {
  const seq = ++searchSeq;
  const q = $("#search").value;
  try {
    const body = await api(`/v1/videos?q=${encodeURIComponent(q)}&limit=20`);
    if (seq !== searchSeq) return;
    state.results = body.videos;
    state.active = -1;
    renderResults();
  } catch (e) { showError(e.message); }
}
function renderResults() {
  const list = $("#results-list");
  list.replaceChildren();
  if (!state.results.length) list.append(el("li", { class: "none", role: "option", "aria-disabled": "true", text: t("no_match") }));
  state.results.forEach((v, i) => {
    const li = el("li", { role: "option", id: `opt-${i}`, "aria-selected": String(i === state.active), "data-video-id": v.video_id },
      el("span", { class: "r-title", text: v.title || v.video_id }),
      el("span", { class: "r-sub" }, el("span", { text: `${v.platform_id}/${v.video_id}` }),
        v.channel ? el("span", { text: `· ${v.channel}` }) : null,
        v.artifacts_in.length ? el("span", { class: "tag", text: t("in_store") }) : null,
        v.in_dataset ? el("span", { class: "tag plain", text: t("in_dataset") }) : null));
    li.addEventListener("mousedown", (ev) => { ev.preventDefault(); pick(v); });
    list.append(li);
  });
  list.hidden = false;
  $("#search").setAttribute("aria-expanded", "true");
  $("#search").setAttribute("aria-activedescendant", state.active >= 0 ? `opt-${state.active}` : "");
}
function onSearchKey(ev) {
  const n = state.results.length;
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
    if (!n) return;
    ev.preventDefault();
    state.active = ev.key === "ArrowDown" ? (state.active + 1) % n : (state.active - 1 + n) % n;
    renderResults();
    document.getElementById(`opt-${state.active}`)?.scrollIntoView({ block: "nearest" });
  } else if (ev.key === "Enter") {
    ev.preventDefault();
    if (n) pick(state.results[Math.max(0, state.active)]);
  } else if (ev.key === "Escape") { hideResults(); }
}
function hideResults() { $("#results-list").hidden = true; $("#search").setAttribute("aria-expanded", "false"); }

// ------------------------------------------------------------------ picking a video, prefill
function toLocalInput(iso) { return iso ? iso.replace("Z", "").replace(/\+00:00$/, "").slice(0, 19) : ""; }
function nowInput() { return new Date().toISOString().slice(0, 19); }
function pick(v) {
  hideResults();
  clearError();
  state.video = { platform_id: v.platform_id, video_id: v.video_id, title: v.title, video: v.artifacts_in.length ? null : v.video,
                  source: v.artifacts_in.length ? "store" : "dataset", metadata: v.metadata || {}, snapshot: v.snapshot || {} };
  const m = state.video.metadata, s = state.video.snapshot;
  state.prefill = { publishedAt: m.publishedAt || null, collected_at: s.collected_at || null };
  for (const c of COUNTERS) $(`#${c}`).value = s[c] ?? "";
  $("#collected_at").value = s.collected_at ? toLocalInput(s.collected_at) : nowInput();
  $("#publishedAt").value = toLocalInput(m.publishedAt);
  $("#title").value = m.title || "";
  $("#channelTitle").value = m.channelTitle || "";
  $("#search").value = v.title || v.video_id;
  renderSelected();
  $("#viewCount").focus();
}
function renderSelected() {
  const box = $("#selected");
  const v = state.video;
  $("#submit").disabled = !v;
  if (!v) { box.hidden = true; return; }
  const change = el("button", { type: "button", class: "linkish", text: t("change") });
  change.addEventListener("click", () => { state.video = null; renderSelected(); $("#search").focus(); });
  box.replaceChildren(el("div", {}, el("b", { text: v.title || v.video_id }),
    el("small", { text: v.source === "upload" ? `${t("uploaded")} · ${v.video_id}` : `${v.platform_id}/${v.video_id}` })), change);
  box.hidden = false;
}

// ------------------------------------------------------------------ upload
function upload(file) {
  clearError();
  const bar = $("#upload-progress");
  bar.hidden = false;
  bar.firstElementChild.style.width = "0";
  $("#busy").textContent = t("uploading");
  const form = new FormData();
  form.append("file", file, file.name);
  const xhr = new XMLHttpRequest();  // fetch has no upload progress
  xhr.open("POST", "/v1/upload");
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.firstElementChild.style.width = `${(100 * e.loaded / e.total).toFixed(0)}%`; };
  xhr.onerror = () => { bar.hidden = true; $("#busy").textContent = ""; showError(t("error_net")); };
  xhr.onload = () => {
    bar.hidden = true;
    $("#busy").textContent = "";
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
    if (xhr.status >= 400) { showError(apiMessage(body, xhr.responseText, xhr.status)); return; }
    state.video = { platform_id: body.platform_id, video_id: body.video_id, video: body.video, title: file.name, source: "upload",
                    metadata: {}, snapshot: {} };
    state.prefill = {};
    for (const c of COUNTERS) $(`#${c}`).value = "";
    $("#collected_at").value = nowInput();
    $("#title").value = file.name.replace(/\.[^.]+$/, "");
    renderSelected();
    $("#viewCount").focus();
  };
  xhr.send(form);
}

// ------------------------------------------------------------------ the request
// A counter as typed: a number when it is one, else the raw text so the API names the bad field.
function counter(id) {
  const raw = $(`#${id}`).value.trim();
  if (raw === "") return undefined;
  return /^-?\d+$/.test(raw) ? Number(raw) : raw;
}
function utc(id, original) {
  const raw = $(`#${id}`).value;
  if (!raw) return undefined;
  if (original && toLocalInput(original) === raw.slice(0, 19)) return original;  // untouched prefill: exact
  return `${raw.length === 16 ? raw + ":00" : raw}Z`;
}
function requestBody() {
  const v = state.video;
  const metadata = { ...v.metadata };
  delete metadata.video_id; delete metadata.platform_id;
  const title = $("#title").value.trim(), channel = $("#channelTitle").value.trim();
  if (title) metadata.title = title; else delete metadata.title;
  if (channel) metadata.channelTitle = channel; else delete metadata.channelTitle;
  const published = utc("publishedAt", state.prefill.publishedAt);
  if (published) metadata.publishedAt = published; else delete metadata.publishedAt;
  const snapshot = {};
  for (const c of COUNTERS) { const x = counter(c); if (x !== undefined) snapshot[c] = x; }
  const collected = utc("collected_at", state.prefill.collected_at);
  if (collected) snapshot.collected_at = collected;
  const body = { platform_id: v.platform_id, video_id: v.video_id, metadata, snapshot, locale: state.locale, detail: "short" };
  if (v.video) body.video = v.video;
  const model = $("#model").value;
  if (model) body.model = model;
  return body;
}
async function predict(body) {
  const btn = $("#submit");
  btn.disabled = true;
  btn.classList.add("loading");
  $("#busy").textContent = state.video && state.video.source !== "store" ? t("working") : t("working_short");
  document.body.setAttribute("aria-busy", "true");
  try {
    const answer = await api("/v1/predict", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    state.lastBody = body;
    state.lastAnswer = answer;
    clearError();
    renderAnswer(answer, body);
    document.body.dataset.state = "forecast";
    if (state.video) state.video.source = "store";  // its features are cached now
    $("#results").focus({ preventScroll: window.innerWidth >= 960 });
  } catch (e) {
    showError(e.message);
    document.body.dataset.state = "error";
  } finally {
    btn.disabled = !state.video;
    btn.classList.remove("loading");
    $("#busy").textContent = "";
    document.body.removeAttribute("aria-busy");
  }
}

// ------------------------------------------------------------------ the answer
function renderAnswer(a, body) {
  $("#empty").hidden = true;
  $("#out").hidden = false;
  $("#out-video").textContent = body.metadata.title || body.video_id;
  $("#out-meta").textContent = `${body.platform_id}/${body.video_id}` + (body.metadata.channelTitle ? ` · ${body.metadata.channelTitle}` : "");
  $("#model-chip").textContent = t("answered", a.model);
  $("#model-chip").dataset.model = a.model;
  $("#bucket-chip").textContent = t("bucket", BUCKETS[state.locale][a.age_bucket] || a.age_bucket);
  $("#bucket-chip").dataset.bucket = a.age_bucket;
  const fb = $("#fallback");
  if (a.fallback && a.fallback.length) {
    fb.replaceChildren(el("b", { text: t("fallback_title") }),
      el("ul", {}, ...a.fallback.map((f) => el("li", { "data-model": f.model }, el("b", { text: f.model }), document.createTextNode(`: ${f.reason}`)))));
    fb.hidden = false;
  } else fb.hidden = true;
  const targets = Object.keys(a.forecast);
  for (const name of ["views", "likes"]) {
    const card = $(`#card-${name}`);
    if (a.forecast[name]) { renderTarget(card, name, a.forecast[name], body.snapshot[SNAPSHOT_OF[name]], a.interval_level); card.hidden = false; }
    else card.hidden = true;
  }
  const others = $("#other-targets");
  others.replaceChildren();
  for (const name of targets.filter((x) => x !== "views" && x !== "likes")) {
    const card = el("article", { class: "card", "data-target": name });
    renderTarget(card, name, a.forecast[name], body.snapshot[SNAPSHOT_OF[name]], a.interval_level);
    others.append(card);
  }
  renderSummary(a.summary);
  $("#foot").textContent = a.features ? t("features", a.features.cached, a.features.run_id) : "";
  loadTimeline(body.platform_id, body.video_id, a.features && a.features.run_id);
}

function renderTarget(card, name, heads, count0, level) {
  const horizons = Object.keys(heads).sort((x, y) => Number(x) - Number(y));
  const last = heads[horizons[horizons.length - 1]];
  const big = el("div", { class: "big", "data-value": last.total ?? "" }, fmt(last.total));
  if (last.delta !== null && last.delta !== undefined) big.append(el("small", { text: `+${fmt(last.delta)}` }));
  const head = el("div", { class: "card-head" }, el("h3", { text: t(name) || name }),
    el("span", { class: "muted", text: t("by_day", horizons[horizons.length - 1]) }));
  const table = el("table", { class: "nums" },
    el("thead", {}, el("tr", {}, el("th", { text: t("horizon") }), el("th", { text: t("total") }),
      el("th", { text: level ? `${t("interval")} ${Math.round(level * 100)}%` : t("interval") }), el("th", { text: t("growth") }))),
    el("tbody", {}, ...horizons.map((h) => {
      const f = heads[h];
      return el("tr", { "data-horizon": h },
        el("td", { text: `${h} ${t("days")}` }),
        el("td", { class: "total", "data-value": f.total ?? "" }, fmt(f.total)),
        // high is null when the interval is unbounded (no calibration for this head and age): "≥ low"
        f.high === null || f.high === undefined
          ? el("td", { class: "range" }, "≥ ", el("span", { class: "low", "data-value": f.low ?? "" }, fmt(f.low)),
            el("span", { class: "high", "data-value": "" }))
          : el("td", { class: "range" }, el("span", { class: "low", "data-value": f.low ?? "" }, fmt(f.low)), " – ",
            el("span", { class: "high", "data-value": f.high }, fmt(f.high))),
        el("td", { class: "gain delta", "data-value": f.delta ?? "" }, f.delta === null ? t("nothing") : `+${fmt(f.delta)}`));
    })));
  card.replaceChildren(head, big, chart(name, horizons, heads, typeof count0 === "number" ? count0 : null), table);
}

// Inline SVG: the range band (low..high) and the forecast line from the snapshot-1 count.
function chart(name, horizons, heads, count0) {
  const W = 400, H = 200, L = 50, R = 14, TOP = 22, B = 26;
  const pts = horizons.map((h) => ({ x: Number(h), y: heads[h].total, lo: heads[h].low, hi: heads[h].high }));
  if (count0 !== null) pts.unshift({ x: 0, y: count0, lo: count0, hi: count0 });
  const ys = pts.flatMap((p) => [p.y, p.lo, p.hi]).filter((v) => v !== null && v !== undefined && isFinite(v));
  let ymin = Math.min(...ys), ymax = Math.max(...ys);
  if (ymax === ymin) { ymax += 1; ymin = Math.max(0, ymin - 1); }
  const pad = (ymax - ymin) * 0.08;
  ymin = Math.max(0, ymin - pad); ymax += pad;
  const xmax = Math.max(...pts.map((p) => p.x)), xmin = Math.min(...pts.map((p) => p.x));
  const X = (x) => L + (W - L - R) * (xmax === xmin ? 0.5 : (x - xmin) / (xmax - xmin));
  const Y = (y) => TOP + (H - TOP - B) * (1 - (y - ymin) / (ymax - ymin));
  const ns = "http://www.w3.org/2000/svg";
  const s = (tag, attrs, text) => { const e = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text !== undefined) e.textContent = text; return e; };
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": `${t(name)}: ${pts.map((p) => `${p.x} ${t("days")} ${fmt(p.y)}`).join(", ")}` });
  for (let i = 0; i <= 4; i++) {
    const v = ymin + (ymax - ymin) * i / 4;
    svg.append(s("line", { class: "grid", x1: L, x2: W - R, y1: Y(v), y2: Y(v) }));
    svg.append(s("text", { class: "axis", x: L - 8, y: Y(v) + 4, "text-anchor": "end" }, ymax < 1e5 ? fmt(v) : compact(v)));
  }
  const band = pts.filter((p) => p.lo !== null && p.hi !== null && p.lo !== undefined && p.hi !== undefined);
  if (band.length > 1) {
    const d = band.map((p) => `${X(p.x)},${Y(p.hi)}`).concat(band.slice().reverse().map((p) => `${X(p.x)},${Y(p.lo)}`));
    svg.append(s("polygon", { class: "band", points: d.join(" ") }));
  }
  const line = pts.filter((p) => p.y !== null && p.y !== undefined);
  svg.append(s("polyline", { class: "line", points: line.map((p) => `${X(p.x)},${Y(p.y)}`).join(" ") }));
  for (const p of pts) {
    const anchor = p.x === xmin ? "start" : p.x === xmax ? "end" : "middle";  // edge labels stay inside
    svg.append(s("text", { class: "axis", x: X(p.x), y: H - 8, "text-anchor": anchor }, p.x === 0 ? t("now") : `${p.x} ${t("days")}`));
    if (p.y === null || p.y === undefined) continue;
    const c = s("circle", { class: p.x === 0 ? "pt pt0" : "pt", cx: X(p.x), cy: Y(p.y), r: 4.5 });
    c.append(s("title", {}, `${fmt(p.y)} (${fmt(p.lo)} – ${fmt(p.hi)})`));
    svg.append(c);
    if (p.x !== 0) svg.append(s("text", { class: "lbl", x: X(p.x), y: Y(p.y) - 10, "text-anchor": p.x === xmax ? "end" : "middle" }, p.y < 1e5 ? fmt(p.y) : compact(p.y)));
  }
  return svg;
}

function itemText(item) {
  if (item === null || item === undefined) return "";
  if (typeof item === "string") return item;
  return item.text || item.message || item.title || JSON.stringify(item);
}
function renderSummary(summary) {
  const box = $("#summary");
  box.replaceChildren();
  if (!summary) { box.append(el("p", { class: "muted", text: t("no_summary") })); return; }
  for (const [key, tag] of [["strong", "ul"], ["weak", "ul"], ["actions", "ol"], ["why", "ul"]]) {
    const items = summary[key] || [];
    box.append(el("section", { class: `sum-sec ${key}`, "data-section": key }, el("h4", { text: t(key) }),
      items.length ? el(tag, {}, ...items.map((i) => el("li", { class: i && i.kind === "none" ? "muted" : null, text: itemText(i) })))
        : el("p", { class: "muted", text: t("nothing") })));
  }
}

// ------------------------------------------------------------------ shot timeline
async function loadTimeline(platform, video, runId) {
  const list = $("#timeline");
  const note = $("#timeline-note");
  list.replaceChildren();
  note.textContent = "";
  let tl;
  try {
    tl = await api(`/v1/shots/${encodeURIComponent(platform)}/${encodeURIComponent(video)}` + (runId ? `?run_id=${encodeURIComponent(runId)}` : ""));
  } catch (e) { note.textContent = t("no_shots"); return; }
  note.textContent = t("shots_note", tl.n_shots, mmss(tl.duration_sec));
  const motions = tl.shots.map((x) => x.motion).filter((x) => x !== null);
  const mmax = Math.max(1e-9, ...motions);
  for (const shot of tl.shots) {
    const src = `/v1/thumbnails/${encodeURIComponent(platform)}/${encodeURIComponent(video)}/${shot.index}.jpg?run_id=${encodeURIComponent(tl.run_id)}`;
    const pic = shot.thumbnail ? el("img", { class: "thumb", src, alt: `${t("shot")} ${shot.index + 1}`, loading: "lazy", width: "160", height: "90" })
      : el("div", { class: "thumb nothumb", text: t("no_thumb") });
    const quality = shot.quality === null ? null : shot.quality;
    const loud = shot.loudness_lufs;
    const label = `${t("shot")} ${shot.index + 1}, ${mmss(shot.start_sec)}–${mmss(shot.end_sec)}; ${t("q_label")} ${quality === null ? t("nothing") : quality.toFixed(2)}; ${t("m_label")} ${shot.motion === null ? t("nothing") : shot.motion.toFixed(3)}; ${t("l_label")} ${loud === null ? t("nothing") : loud.toFixed(1) + " LUFS"}`;
    list.append(el("li", { class: shot.bad ? "shot bad" : "shot", tabindex: "0", "aria-label": label, "data-shot": shot.index },
      pic,
      el("div", { class: "cap" }, el("b", { text: `#${shot.index + 1}` }), shot.bad ? el("span", { class: "flag", text: t("weak_shot") }) : null,
        el("span", { text: `${mmss(shot.start_sec)}–${mmss(shot.end_sec)}` })),
      meter("q", quality === null ? null : quality, quality === null ? t("nothing") : quality.toFixed(2)),
      meter("m", shot.motion === null ? null : shot.motion / mmax, shot.motion === null ? t("nothing") : shot.motion.toFixed(3)),
      meter("l", loud === null ? null : Math.min(1, Math.max(0, (loud + 60) / 60)), loud === null ? t("nothing") : `${loud.toFixed(0)} LUFS`)));
  }
}
function meter(kind, share, text) {
  return el("div", { class: `meter ${kind}`, "aria-hidden": "true" },
    el("div", { class: "track" }, el("div", { class: "fill", style: `width:${share === null ? 0 : (100 * share).toFixed(1)}%` })),
    el("span", { class: "v", text }));
}
function onTimelineKey(ev) {
  if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
  const next = ev.key === "ArrowRight" ? ev.target.nextElementSibling : ev.target.previousElementSibling;
  if (next) { ev.preventDefault(); next.focus(); next.scrollIntoView({ block: "nearest", inline: "nearest" }); }
}

// ------------------------------------------------------------------ wiring
async function init() {
  let saved = null;
  try { saved = localStorage.getItem("trendflow-locale"); } catch (e) { saved = null; }
  try { state.config = await api("/v1/page/config"); } catch (e) { showError(e.message); }
  const param = new URLSearchParams(location.search).get("locale");
  applyLocale([param, saved, state.config && state.config.default_locale].find((x) => x === "ru" || x === "en") || "en");
  document.querySelectorAll(".seg").forEach((b) => b.addEventListener("click", () => {
    if (b.dataset.locale === state.locale) return;
    applyLocale(b.dataset.locale);
    if (state.lastBody) predict({ ...state.lastBody, locale: state.locale });  // the summary in the new locale
  }));
  const search = $("#search");
  search.addEventListener("input", onSearchInput);
  search.addEventListener("keydown", onSearchKey);
  search.addEventListener("focus", () => { if (!state.results.length) runSearch(); else renderResults(); });
  search.addEventListener("blur", () => setTimeout(hideResults, 120));
  $("#file").addEventListener("change", (ev) => { if (ev.target.files.length) upload(ev.target.files[0]); });
  const drop = $("#drop");
  drop.addEventListener("dragover", () => drop.classList.add("drag"));
  drop.addEventListener("dragleave", () => drop.classList.remove("drag"));
  drop.addEventListener("drop", () => drop.classList.remove("drag"));
  $("#form").addEventListener("submit", (ev) => { ev.preventDefault(); if (state.video) predict(requestBody()); });
  $("#timeline").addEventListener("keydown", onTimelineKey);
  $("#collected_at").value = nowInput();
  document.body.dataset.state = "ready";
}
init();
