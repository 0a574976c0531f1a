// Today's visits and the caseload: the two screens a worker starts a visit day from.
import { h, link } from "./dom.mjs";
import { caseload, familyName, localDate, visitsOn } from "./model.mjs";

export function renderToday(ctx) {
  const { t, index } = ctx;
  const visits = visitsOn(index, localDate());
  const items = visits.map((visit) => h("li", { class: "fa-card" },
    h("h2", { class: "fa-card__title" },
      link(`#/case/${visit.case_id}`, familyName(index, visit.case_id, t("family_unknown")))),
    h("p", {}, `${ctx.time(visit.starts_at)} · ${t(`visit_${visit.kind}`)}${visit.location ? ` · ${visit.location}` : ""}`),
    h("p", {}, link(`#/note/new/${visit.case_id}/${visit._id}`, t("write_note")))));
  return h("section", { class: "fa-screen", "aria-labelledby": "title" },
    h("h1", { id: "title" }, t("today_title")),
    h("p", {}, ctx.date(localDate())),
    items.length ? h("ul", { class: "fa-list", id: "today" }, items) : h("p", { id: "today" }, t("no_visits_today")));
}

export function renderCaseload(ctx) {
  const { t, index } = ctx;
  const rows = caseload(index, t("family_unknown")).map(({ caseDoc, name }) => h("li", { class: "fa-card" },
    h("h2", { class: "fa-card__title" }, link(`#/case/${caseDoc._id}`, name)),
    h("p", {}, t(`status_${caseDoc.status}`))));
  return h("section", { class: "fa-screen", "aria-labelledby": "title" },
    h("h1", { id: "title" }, t("caseload_title")),
    rows.length ? h("ul", { class: "fa-list", id: "caseload" }, rows) : h("p", { id: "caseload" }, t("no_cases")));
}
