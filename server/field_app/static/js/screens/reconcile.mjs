// Reconciliation items of one document (PROTOCOL "Merging: no edit is hidden"): both
// versions with both authors and times, and a way to resolve each — acknowledge it in
// the worker's own name (changing nothing else; the only way on a final note), or take
// one version (edited if need be) into the field and remove the item.
import { button, field, h, link, notification } from "./dom.mjs";
import { acknowledge, editable, familyName, openItems, parseSide, resolveWith, showValue, workerLabel } from "./model.mjs";
import { notFound } from "./case.mjs";

export function renderReconcile(ctx, docId, { message, error } = {}) {
  const { t, index } = ctx;
  const doc = index.byId.get(docId);
  if (!doc) return notFound(ctx);
  const caseId = doc.case_id || doc._id;
  const items = openItems(doc);
  return h("section", { class: "fa-screen", "aria-labelledby": "title" },
    h("p", {}, link(`#/case/${caseId}`, `← ${familyName(index, caseId, t("back_case"))}`)),
    h("h1", { id: "title" }, `${t("to_reconcile")}: ${t(`type_${doc.type}`)}`),
    message ? notification(message, "success") : null,
    error ? notification(error, "error", "alert") : null,
    items.length ? items.map((item) => itemSection(ctx, doc, item)) : h("p", { id: "no-items" }, t("no_open_items")));
}

function side(ctx, label, value, by, at, id) {
  return h("div", { class: "fa-side", id },
    h("h3", {}, label),
    h("p", { class: "fa-side__who" }, `${workerLabel(by, ctx.me, ctx.t, ctx.names)} · ${ctx.dateTime(at)}`),
    h("p", { class: "fa-text" }, showValue(parseSide(value))));
}

function itemSection(ctx, doc, item) {
  const { t } = ctx;
  const ours = parseSide(item.ours);
  const theirs = parseSide(item.theirs);
  const canEdit = editable(doc, item) && [ours, theirs].every((v) => v === null || typeof v !== "object");
  return h("section", { class: "fa-section fa-item", id: `item-${item.id}`, "aria-labelledby": `item-title-${item.id}` },
    h("h2", { id: `item-title-${item.id}` }, `${t(`kind_${item.kind}`)}: ${fieldName(ctx, item.path)}`),
    h("div", { class: "fa-sides" },
      side(ctx, t("version_earlier"), item.ours, item.ours_by, item.ours_at, `ours-${item.id}`),
      side(ctx, t("version_later"), item.theirs, item.theirs_by, item.theirs_at, `theirs-${item.id}`)),
    canEdit ? editForm(ctx, doc, item, ours, theirs) : null,
    button(t("acknowledge"), () => settle(ctx, doc, acknowledge(doc, item.id, ctx.me)), { kind: "secondary", id: `ack-${item.id}` }));
}

function fieldName(ctx, path) {
  if (path === "") return ctx.t("whole_document");
  const last = path.split("/").filter((p) => !/^[0-9a-f]{32}$/.test(p)).pop();
  return ctx.t(`field_${last}`, {}, last);
}

function editForm(ctx, doc, item, ours, theirs) {
  const { t } = ctx;
  const numeric = typeof ours === "number" || typeof theirs === "number";
  const name = `resolve-${item.id}`;
  const current = theirs ?? ours ?? "";
  const submit = (e) => {
    e.preventDefault();
    const raw = e.target.elements.namedItem(name).value;
    const value = numeric ? Number(raw) : raw;
    settle(ctx, doc, resolveWith(doc, item.id, item.path, value, ctx.me));
  };
  const use = (value) => () => { document.getElementById(name).value = value ?? ""; };
  return h("form", { class: "fa-form", on: { submit } },
    h("div", { class: "fa-actions" },
      button(t("use_earlier"), use(ours), { kind: "supplementary", small: true }),
      button(t("use_later"), use(theirs), { kind: "supplementary", small: true })),
    field(t("resolved_value"), name, { value: String(current), multiline: !numeric, type: numeric ? "number" : "text" }),
    button(t("resolve"), null, { type: "submit", id: `resolve-button-${item.id}` }));
}

async function settle(ctx, doc, changed) {
  try {
    await ctx.actions.save(changed);
    ctx.go(`#/reconcile/${doc._id}`, { message: ctx.t("resolved_message") });
  } catch (err) {
    ctx.show(renderReconcile(ctx, doc._id, { error: ctx.errorText(err) }));
  }
}
