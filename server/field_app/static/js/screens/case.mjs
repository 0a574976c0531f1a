// One case: the family, the visits, the notes (each openable), the plan with its goals
// and ratings, the assessment, and what waits to be reconciled. All decrypted in
// memory from the replica; nothing here is stored in the clear.
import { h, link } from "./dom.mjs";
import { familyName, memberName, notesOf, openItems, withOpenItems } from "./model.mjs";

export function renderCase(ctx, caseId) {
  const { t, index } = ctx;
  const caseDoc = index.byId.get(caseId);
  if (!caseDoc) return notFound(ctx);
  const family = index.family(caseDoc);
  return h("section", { class: "fa-screen", "aria-labelledby": "title" },
    h("p", {}, link("#/cases", t("back_caseload"))),
    h("h1", { id: "title" }, familyName(index, caseId, t("family_unknown"))),
    h("p", {}, t(`status_${caseDoc.status}`)),
    reconcileSection(ctx, caseId),
    familySection(ctx, family),
    notesSection(ctx, caseId),
    planSection(ctx, caseId),
    assessmentSection(ctx, caseId));
}

export function notFound(ctx) {
  return h("section", { class: "fa-screen" }, h("h1", { id: "title" }, ctx.t("not_found")),
    h("p", {}, link("#/today", ctx.t("nav_today"))));
}

function section(id, title, ...body) {
  return h("section", { id, class: "fa-section", "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title), ...body);
}

function familySection(ctx, family) {
  const { t } = ctx;
  if (!family) return section("family", t("family"), h("p", {}, t("family_unknown")));
  const members = (family.members || []).map((m) => h("li", {},
    `${memberName(m)} — ${t(`role_${m.role}`)}${m.birth_date ? `, ${ctx.date(m.birth_date)}` : ""}`,
    (m.languages || []).length ? ` (${m.languages.map((l) => ctx.language(l)).join(", ")})` : "",
    m.interpreter_needed ? ` · ${t("interpreter_needed")}` : ""));
  return section("family", t("family"),
    family.address ? h("p", {}, family.address) : null,
    h("ul", { class: "fa-plain" }, members));
}

function notesSection(ctx, caseId) {
  const { t, index } = ctx;
  const notes = notesOf(index, caseId).map((note) => h("li", { class: "fa-card" },
    h("h3", { class: "fa-card__title" }, link(`#/note/${note._id}`,
      `${ctx.dateTime(note.occurred_at)} · ${t(note.kind === "amendment" ? "amendment" : "note")}`)),
    h("span", { class: `hds-status-label${note.state === "final" ? " hds-status-label--success" : ""}` },
      t(`state_${note.state}`)),
    note.discussion ? h("p", { class: "fa-excerpt" }, excerpt(note.discussion)) : null));
  return section("notes", t("notes"),
    h("p", {}, link(`#/note/new/${caseId}`, t("write_note"))),
    notes.length ? h("ul", { class: "fa-list" }, notes) : h("p", {}, t("no_notes")));
}

function excerpt(text) {
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}

function planSection(ctx, caseId) {
  const { t, index } = ctx;
  const plan = index.ofCase(caseId, "plan")[0];
  if (!plan) return section("plan", t("plan"), h("p", {}, t("no_plan")));
  const goals = (plan.goals || []).map((goal) => h("li", {}, goal.title,
    latest(ctx, goal) ? ` — ${latest(ctx, goal)}` : ""));
  return section("plan", t("plan"),
    h("p", {}, t("plan_dates", { drawn: ctx.date(plan.drawn_up_on), review: ctx.date(plan.review_on) })),
    h("ul", { class: "fa-plain" }, goals),
    h("p", {}, link(`#/plan/${plan._id}`, t("open_plan"))));
}

function latest(ctx, goal) {
  const ratings = [...(goal.ratings || [])].sort((a, b) => b.rated_on.localeCompare(a.rated_on));
  if (!ratings.length) return "";
  const day = ratings[0].rated_on;
  return ratings.filter((r) => r.rated_on === day)
    .map((r) => `${ctx.t(`rated_by_${r.rated_by}`)} ${r.value}/10`).join(", ");
}

function assessmentSection(ctx, caseId) {
  const { t, index } = ctx;
  const a = index.ofCase(caseId, "assessment")[0];
  if (!a) return section("assessment", t("assessment"), h("p", {}, t("no_assessment")));
  const family = index.family(index.byId.get(caseId));
  const member = (id) => (family?.members || []).find((m) => m.id === id);
  return section("assessment", t("assessment"),
    h("p", {}, t("assessment_dates", { started: ctx.date(a.started_on), completed: a.completed_on ? ctx.date(a.completed_on) : "—" })),
    a.client_view ? h("div", {}, h("h3", {}, t("client_view_assessment")), h("p", { class: "fa-text" }, a.client_view)) : null,
    (a.child_views || []).length ? h("div", {}, h("h3", {}, t("child_views")),
      h("ul", { class: "fa-plain" }, a.child_views.map((v) => h("li", {}, `${member(v.member_id) ? memberName(member(v.member_id)) : ""}: ${v.view}`)))) : null,
    a.worker_conclusions ? h("div", {}, h("h3", {}, t("worker_conclusions")), h("p", { class: "fa-text" }, a.worker_conclusions)) : null,
    a.concern_zone ? h("p", { "data-private": "", class: "fa-private" }, t("concern_zone"), ": ", t(`zone_${a.concern_zone}`)) : null);
}

function reconcileSection(ctx, caseId) {
  const { t, index } = ctx;
  const docs = withOpenItems(index, caseId);
  if (!docs.length) return null;
  return section("reconcile", t("to_reconcile"),
    h("ul", { class: "fa-list" }, docs.map((doc) => h("li", { class: "fa-card" },
      link(`#/reconcile/${doc._id}`, `${t(`type_${doc.type}`)}: ${t("open_items", { n: openItems(doc).length })}`)))));
}
