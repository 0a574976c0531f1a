// The client plan: goals with the parent's, the child's and the worker's views, and
// their 0–10 progress ratings. A worker adds a dated rating (any of the three views)
// and may update the views' words; ratings are list items with their own id, so two
// devices adding ratings at once both keep theirs (merge by id).
import { button, field, h, link, notification } from "./dom.mjs";
import { familyName, localDate, newId, stamped } from "./model.mjs";
import { notFound } from "./case.mjs";

const RATERS = ["parent", "child", "worker"];

export function renderPlan(ctx, planId, { message, error } = {}) {
  const { t, index } = ctx;
  const plan = index.byId.get(planId);
  if (!plan || plan.type !== "plan") return notFound(ctx);
  return h("section", { class: "fa-screen", "aria-labelledby": "title" },
    h("p", {}, link(`#/case/${plan.case_id}`, `← ${familyName(index, plan.case_id, t("back_case"))}`)),
    h("h1", { id: "title" }, t("plan")),
    message ? notification(message, "success") : null,
    error ? notification(error, "error", "alert") : null,
    h("p", {}, t("plan_dates", { drawn: ctx.date(plan.drawn_up_on), review: ctx.date(plan.review_on) })),
    (plan.goals || []).map((goal) => goalSection(ctx, plan, goal)));
}

function goalSection(ctx, plan, goal) {
  const { t } = ctx;
  const ratings = [...(goal.ratings || [])].sort((a, b) => b.rated_on.localeCompare(a.rated_on));
  const form = h("form", { class: "fa-form", id: `rate-${goal.id}`, on: { submit: (e) => addRating(e, ctx, plan, goal) } },
    h("h3", {}, t("add_rating")),
    field(t("rated_on"), `rated_on-${goal.id}`, { type: "date", value: localDate(), required: true }),
    RATERS.map((who) => field(t(`rating_${who}`), `rating-${who}-${goal.id}`, { type: "number", min: 0, max: 10, step: 1, inputmode: "numeric", helper: t("rating_help") })),
    RATERS.map((who) => field(t(`view_${who}`), `view-${who}-${goal.id}`, { value: goal[`${who}_view`], multiline: true })),
    button(t("save_rating"), null, { type: "submit", id: `save-${goal.id}` }));
  return h("section", { class: "fa-section", id: `goal-${goal.id}`, "aria-labelledby": `goal-title-${goal.id}` },
    h("h2", { id: `goal-title-${goal.id}` }, goal.title, goal.achieved ? ` — ${t("achieved")}` : ""),
    h("dl", { class: "fa-views" }, RATERS.flatMap((who) => [h("dt", {}, t(`view_${who}`)), h("dd", {}, goal[`${who}_view`] || "—")])),
    h("table", { class: "fa-table" }, h("caption", {}, t("ratings")),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("rated_on")), h("th", { scope: "col" }, t("rated_by")), h("th", { scope: "col" }, t("rating_value")))),
      h("tbody", {}, ratings.map((r) => h("tr", {}, h("td", {}, ctx.date(r.rated_on)), h("td", {}, t(`rated_by_${r.rated_by}`)), h("td", {}, `${r.value}/10`))))),
    form);
}

async function addRating(event, ctx, plan, goal) {
  event.preventDefault();
  const form = event.target;
  const value = (name) => form.elements.namedItem(`${name}-${goal.id}`).value.trim();
  const day = value("rated_on");
  const ratings = RATERS.filter((who) => value(`rating-${who}`) !== "")
    .map((who) => ({ id: newId(), rated_on: day, value: Number(value(`rating-${who}`)), rated_by: who }));
  if (ratings.some((r) => !Number.isInteger(r.value) || r.value < 0 || r.value > 10)) {
    return ctx.show(renderPlan(ctx, plan._id, { error: ctx.t("rating_invalid") }));
  }
  const views = Object.fromEntries(RATERS.map((who) => [`${who}_view`, value(`view-${who}`) || null]));
  const goals = plan.goals.map((g) => (g.id === goal.id ? { ...g, ...views, ratings: [...(g.ratings || []), ...ratings] } : g));
  try {
    await ctx.actions.save(stamped({ ...plan, goals }, ctx.me));
    ctx.go(`#/plan/${plan._id}`, { message: ctx.t("rating_saved") });
  } catch (err) {
    ctx.show(renderPlan(ctx, plan._id, { error: ctx.errorText(err) }));
  }
}
