// The field app: boot, hash routes, the device's life (enrol, unlock, sync, wipe) and
// the shell around the screens (language switch, navigation, the sync state bar).
// Decrypted documents live only in this module's memory (`index`); what is stored is
// the replica's envelopes and the PIN-wrapped device key (keystore.mjs).
import { Api, ApiError, tokensFrom } from "./api.mjs";
import { HYBRID, generateDeviceKeys } from "./crypto.mjs";
import { LANGUAGES, currentLanguage, setLanguage, t } from "./i18n.mjs";
import { WrongPinError, forgetDevice, loadDevice, saveDevice, unwrapSecret, wrapSecret } from "./keystore.mjs";
import { Replica } from "./replica.mjs";
import { renderCase, notFound } from "./screens/case.mjs";
import { h } from "./screens/dom.mjs";
import { renderCaseload, renderToday } from "./screens/lists.mjs";
import { indexDocs } from "./screens/model.mjs";
import { renderEditor, renderNote } from "./screens/note.mjs";
import { renderPlan } from "./screens/plan.mjs";
import { renderReconcile } from "./screens/reconcile.mjs";
import { renderBusy, renderSignIn, renderUnlock, renderWiped } from "./screens/signin.mjs";
import { renderSync } from "./screens/syncbar.mjs";
import { accessEvents, shownDocs } from "./screens/views.mjs";

const WIPED_FLAG = "sopu-wiped"; // only "this browser's device was wiped", no data
const session = { device: null, replica: null, index: indexDocs([]), sync: null, flash: {}, names: {} };
const $ = (id) => document.getElementById(id);

/** What every screen gets: strings, formats, the documents and the actions. */
function context() {
  const lang = currentLanguage();
  return {
    t, lang, index: session.index, device: session.device, me: session.device?.workerId,
    names: session.names,
    show, go, busy: (text) => show(renderBusy(context(), text)), errorText, actions,
    date: (ymd) => new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${ymd}T00:00:00Z`)),
    dateTime: (iso) => new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" }).format(new Date(iso)),
    time: (iso) => new Intl.DateTimeFormat(lang, { timeStyle: "short" }).format(new Date(iso)),
    language: (code) => (code ? new Intl.DisplayNames([lang], { type: "language" }).of(code) : "—"),
  };
}

function show(screen) {
  $("main").replaceChildren(screen);
  document.title = `${screen.querySelector("h1")?.textContent || ""} – Sopu`;
}

/** Go to a route; `flash` (a message) is shown by the next screen only. */
function go(hash, flash = {}) {
  session.flash = flash;
  if (location.hash === hash) route();
  else location.hash = hash;
}

const ROUTES = [
  [/^#\/today$/, (ctx) => renderToday(ctx)],
  [/^#\/cases$/, (ctx) => renderCaseload(ctx)],
  [/^#\/case\/([0-9a-f]{32})$/, (ctx, id) => renderCase(ctx, id)],
  [/^#\/note\/new\/([0-9a-f]{32})(?:\/([0-9a-f]{32}))?$/, (ctx, caseId, visitId) => renderEditor(ctx, { caseId, visitId })],
  [/^#\/note\/([0-9a-f]{32})\/edit$/, (ctx, noteId) => renderEditor(ctx, { noteId })],
  [/^#\/note\/amend\/([0-9a-f]{32})$/, (ctx, amends) => renderEditor(ctx, { amends })],
  [/^#\/note\/([0-9a-f]{32})$/, (ctx, id, flash) => renderNote(ctx, id, flash)],
  [/^#\/plan\/([0-9a-f]{32})$/, (ctx, id, flash) => renderPlan(ctx, id, flash)],
  [/^#\/reconcile\/([0-9a-f]{32})$/, (ctx, id, flash) => renderReconcile(ctx, id, flash)],
];
const EDITORS = /^#\/note\/(new\/|amend\/|[0-9a-f]{32}\/edit)/;

/** Render the screen of the current hash; a navigation (not a refresh after a sync)
 * also records what the worker opened (access events). */
function route({ navigated = true } = {}) {
  // A message stays while the same screen is only refreshed (a sync, an access event).
  const flash = navigated ? session.flash : session.lastFlash || {};
  session.lastFlash = flash;
  session.flash = {};
  renderChrome();
  const ctx = context();
  if (!session.device) return show(localStorage.getItem(WIPED_FLAG) ? renderWiped(ctx) : renderSignIn(ctx));
  if (!session.replica) return show(renderUnlock(ctx));
  for (const [pattern, render] of ROUTES) {
    const match = location.hash.match(pattern);
    if (match) {
      show(render(ctx, ...match.slice(1), flash)); // an absent optional part stays undefined
      if (navigated) recordViews();
      return undefined;
    }
  }
  if (location.hash !== "#/today") return go("#/today");
  return show(notFound(ctx));
}

function renderChrome() {
  document.documentElement.lang = currentLanguage();
  $("languages").setAttribute("aria-label", t("language"));
  $("languages").replaceChildren(...LANGUAGES.map(([code, name]) => h("button", {
    type: "button", lang: code, class: "fa-lang fa-touch", "aria-pressed": String(code === currentLanguage()),
    on: { click: () => { setLanguage(code); route(); } },
  }, name)));
  $("nav").setAttribute("aria-label", t("nav_label"));
  $("nav").replaceChildren(...(session.replica ? [
    h("a", { href: "#/today", class: "fa-nav__link fa-touch", "aria-current": location.hash === "#/today" ? "page" : null }, t("nav_today")),
    h("a", { href: "#/cases", class: "fa-nav__link fa-touch", "aria-current": location.hash === "#/cases" ? "page" : null }, t("nav_caseload")),
  ] : []));
  renderSyncBar();
}

function renderSyncBar() {
  $("sync").replaceChildren(...renderSync(t, session.sync));
}

function errorText(err) {
  if (err instanceof WrongPinError) return t("err_pin");
  if (err instanceof ApiError) {
    if (err.code === "invalid_credentials") return t("err_credentials");
    if (err.code === "login_throttled") return t("err_throttled", { s: err.body?.retry_after ?? "?" });
    return t("err_server", { code: err.code || err.status });
  }
  if (err instanceof TypeError) return t("err_network");
  return err?.message || String(err);
}

const actions = {
  async enrol(username, password, pin) {
    const api = new Api();
    const account = await api.login(username, password);
    const keys = await generateDeviceKeys(HYBRID);
    const enrolled = await api.enrol(t("device_label"), keys.publicKey);
    const record = {
      server: location.origin, workerId: account.id, username: account.username,
      deviceId: enrolled.device_id, kem: keys.publicKey.kem, wrapped: await wrapSecret(keys.secret, pin),
      tokens: tokensFrom(enrolled),
    };
    await saveDevice(record);
    await api.logout(); // the device needs only its tokens from now on
    localStorage.removeItem(WIPED_FLAG);
    session.device = record;
    await openReplica(keys.secret);
  },
  async unlock(pin) {
    await openReplica(await unwrapSecret(session.device.wrapped, pin));
  },
  async save(doc) {
    const saved = await session.replica.save(doc);
    await refresh({ rerender: false });
    return saved;
  },
  /** A note and, when its participants changed, its visit first (the note names it). */
  async saveNote(note, visit) {
    if (visit) await session.replica.save(visit);
    return actions.save(note);
  },
  async restart() {
    localStorage.removeItem(WIPED_FLAG);
    go("#/");
  },
};

async function openReplica(secret) {
  const replica = await Replica.open({ device: session.device, secret, api: new Api(), onWipe: wiped });
  session.replica = replica;
  replica.onChange(() => refresh({ rerender: true }));
  replica.start({ onState });
  session.names = replica.device.names || {};
  replica.colleagues().then((names) => { session.names = names; return refresh({ rerender: true }); });
  await refresh({ rerender: false });
  go(location.hash.startsWith("#/") && location.hash.length > 2 ? location.hash : "#/today");
}

function onState(state) {
  session.sync = state;
  if (state.state === "wiped") return wiped();
  return renderSyncBar();
}

/** Re-read the documents; re-render unless the worker is typing (an editor is open). */
async function refresh({ rerender }) {
  if (!session.replica) return;
  session.index = indexDocs(await session.replica.documents(), await familyCases(session.replica));
  const typing = document.activeElement?.closest?.("form");
  if (rerender && !EDITORS.test(location.hash) && !typing) route({ navigated: false });
}

/** Access events for what this screen shows, written after the documents they name. */
async function recordViews() {
  const events = accessEvents(shownDocs(location.hash, session.index), session.device.workerId, session.device.deviceId);
  for (const event of events) {
    await session.replica?.save(event).catch(() => {}); // a lost view must never stop the work
  }
}

/** Which case sealed each family document, from the envelopes' routing fields (in the
 * clear by design, PROTOCOL "The envelope"); nothing is decrypted here. */
async function familyCases(replica) {
  const rows = (await replica.local.allDocs({ include_docs: true })).rows;
  return new Map(rows.filter((r) => r.doc?.doc_type === "family" && !r.doc._deleted).map((r) => [r.id, r.doc.case_id]));
}

let wiping = null;
async function wiped() {
  wiping ||= (async () => {
    const replica = session.replica;
    Object.assign(session, { replica: null, device: null, index: indexDocs([]), names: {}, sync: { state: "wiped" } });
    localStorage.setItem(WIPED_FLAG, "1");
    if (replica && !replica.wiped) await replica.wipe();
    else if (!replica) await forgetDevice();
    route();
  })();
  return wiping;
}

function registerServiceWorker() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {
      // Without it the app still works online; offline start needs a later visit.
    });
  }
}

async function boot() {
  registerServiceWorker();
  window.addEventListener("hashchange", () => route());
  session.device = await loadDevice();
  route();
}

boot();
