// A note: read it, or write it with the client during a visit (PROTOCOL: note fields
// exactly as the contract's note schema; participants belong to the note's visit).
// Save as draft keeps it editable; finalise (after a confirmation) makes it final,
// which no one can change afterwards.
import { button, checkbox, field, h, link, notification, radios } from "./dom.mjs";
import { familyName, finalised, memberName, newAmendment, newId, newNote, newVisit, openItems, stamped, workerLabel } from "./model.mjs";
import { notFound } from "./case.mjs";

const REVIEW = ["not_reviewed", "read", "agrees", "disagrees"];
export const LANGUAGES = ["fi", "sv", "en", "ar", "so", "ru", "fa", "ku", "et", "uk", "tr", "vi", "th", "sq", "es", "fr", "de"];

export function renderNote(ctx, noteId, { message } = {}) {
  const { t, index } = ctx;
  const note = index.byId.get(noteId);
  if (!note || note.type !== "note") return notFound(ctx);
  const visit = note.visit_id ? index.byId.get(note.visit_id) : null;
  return h("section", { class: "fa-screen", "aria-labelledby": "title" },
    h("p", {}, link(`#/case/${note.case_id}`, `← ${familyName(index, note.case_id, t("back_case"))}`)),
    h("h1", { id: "title" }, `${t(note.kind === "amendment" ? "amendment" : "note")} ${ctx.dateTime(note.occurred_at)}`),
    message ? notification(message, "success") : null,
    h("p", {}, h("span", { id: "note-state", class: `hds-status-label${note.state === "final" ? " hds-status-label--success" : ""}` }, t(`state_${note.state}`)),
      note.state === "final" ? ` ${t("finalised_by", { who: workerLabel(note.finalised_by, ctx.me, t, ctx.names), at: ctx.dateTime(note.finalised_at) })}` : ""),
    openItems(note).length ? notification(h("span", {}, t("open_items", { n: openItems(note).length }), " ", link(`#/reconcile/${note._id}`, t("reconcile_now"))), "alert") : null,
    readField(t("discussion"), note.discussion, "discussion"),
    readField(t("client_view"), note.client_view, "client_view"),
    h("h2", {}, t("agreed_actions")),
    h("ul", { class: "fa-plain", id: "agreed_actions" }, (note.agreed_actions || []).map((a) => h("li", {}, a.text,
      a.responsible ? ` — ${a.responsible}` : "", a.due_on ? ` (${ctx.date(a.due_on)})` : ""))),
    visit ? participantsRead(ctx, visit) : null,
    h("p", {}, note.written_with_client ? t("written_with_client_yes") : t("written_with_client_no")),
    h("p", { id: "client_review" }, t(`review_${note.client_review?.status || "not_reviewed"}`),
      note.client_review?.comment ? ` — “${note.client_review.comment}”` : ""),
    note.amends ? h("p", {}, link(`#/note/${note.amends}`, t("amends_note"))) : null,
    note.amendment_reason ? readField(t("amendment_reason"), note.amendment_reason, "amendment_reason") : null,
    note.state === "draft"
      ? h("p", {}, link(`#/note/${note._id}/edit`, t("edit_note")))
      : h("p", {}, link(`#/note/amend/${note._id}`, t("write_amendment"))));
}

function readField(label, text, id) {
  return h("div", {}, h("h2", {}, label), h("p", { class: "fa-text", id }, text || "—"));
}

function participantsRead(ctx, visit) {
  const { t, index } = ctx;
  const family = index.family(index.byId.get(visit.case_id));
  const rows = (visit.participants || []).map((p) => h("li", {}, participantText(ctx, p, family)));
  return h("div", {}, h("h2", {}, t("participants")), h("ul", { class: "fa-plain", id: "participants" }, rows));
}

function participantText(ctx, p, family) {
  const { t } = ctx;
  if (p.kind === "worker") return workerLabel(p.worker_id, ctx.me, t, ctx.names);
  if (p.kind === "family_member") {
    const m = (family?.members || []).find((x) => x.id === p.member_id);
    return m ? memberName(m) : t("family_member");
  }
  const what = [p.name, p.organisation, p.role].filter(Boolean).join(", ");
  return p.interpreter ? `${what}, ${t("interpreter")}: ${ctx.language(p.language)}` : what;
}

/** The editor for a new note, an amendment of a final note, or a draft. */
export function renderEditor(ctx, { noteId, caseId, visitId, amends } = {}) {
  const { t, index } = ctx;
  const existing = noteId ? index.byId.get(noteId) : null;
  if (noteId && existing?.type !== "note") return notFound(ctx);
  if (existing?.state === "final") return renderNote(ctx, noteId);
  const original = amends ? index.byId.get(amends) : null;
  if (amends && original?.type !== "note") return notFound(ctx);
  const note = existing
    || (original ? newAmendment(original, ctx.me) : newNote(caseId, ctx.me, visitId));
  const editor = editorOf(ctx, note);
  const title = existing ? "edit_note" : note.kind === "amendment" ? "new_amendment" : "new_note";
  return h("section", { class: "fa-screen", "aria-labelledby": "title" },
    h("p", {}, link(`#/case/${note.case_id}`, `← ${familyName(index, note.case_id, t("back_case"))}`)),
    h("h1", { id: "title" }, t(title)),
    editor.form);
}

/** The editor's state (the list items being edited) and its form. */
function editorOf(ctx, note) {
  const { index } = ctx;
  const visit = note.visit_id ? index.byId.get(note.visit_id) : null;
  const family = index.family(index.byId.get(note.case_id));
  const editor = {
    note, visit, family,
    actions: structuredClone(note.agreed_actions || []),
    externals: (visit?.participants || []).filter((p) => p.kind === "external"),
    form: h("form", { class: "fa-form", id: "note-form", on: { submit: (e) => e.preventDefault() } }),
    actionsBox: h("div", { id: "actions-box" }),
    externalsBox: h("div", { id: "externals-box" }),
    confirmBox: h("div", { id: "confirm-box" }),
  };
  editor.form.append(...formParts(ctx, editor));
  redraw(ctx, editor, { read: false });
  return editor;
}

function formParts(ctx, editor) {
  const { t } = ctx;
  const { note, visit, family } = editor;
  const present = (visit?.participants || []).filter((p) => p.kind === "family_member")
    .map((p) => p.member_id);
  const member = (m) => checkbox(`${memberName(m)} (${t(`role_${m.role}`)})`, `member-${m.id}`,
    present.includes(m.id));
  return [
    note.kind === "amendment"
      ? field(t("amendment_reason"), "amendment_reason", { value: note.amendment_reason, multiline: true, required: true })
      : null,
    field(t("discussion"), "discussion", { value: note.discussion, multiline: true }),
    field(t("client_view"), "client_view", { value: note.client_view, multiline: true, helper: t("client_view_help") }),
    h("fieldset", { class: "fa-fieldset" }, h("legend", {}, t("agreed_actions")), editor.actionsBox),
    h("fieldset", { class: "fa-fieldset", id: "participants-edit" }, h("legend", {}, t("participants")),
      (family?.members || []).map(member), editor.externalsBox),
    checkbox(t("written_with_client"), "written_with_client", note.written_with_client),
    radios(t("client_review"), "review_status", REVIEW.map((s) => [s, t(`review_${s}`)]),
      note.client_review?.status || "not_reviewed"),
    field(t("client_comment"), "review_comment", { value: note.client_review?.comment, multiline: true }),
    h("div", { class: "fa-actions" },
      button(t("save_draft"), () => save(ctx, editor, false), { kind: "secondary", id: "save-draft" }),
      button(t("finalise"), () => askFinal(ctx, editor), { id: "finalise" })),
    editor.confirmBox,
  ];
}

/** Re-draw the agreed actions and other participants, keeping what was typed. */
function redraw(ctx, editor, { read = true } = {}) {
  const { t } = ctx;
  if (read) {
    editor.actions = readActions(editor.form, editor.actions);
    editor.externals = readExternals(editor.form, editor.externals);
  }
  const add = (list, item) => () => {
    redraw(ctx, editor);
    editor[list].push(item());
    redraw(ctx, editor);
  };
  editor.actionsBox.replaceChildren(...actionRows(ctx, editor),
    button(t("add_action"), add("actions", () => ({ id: newId(), text: "" })), { kind: "secondary", id: "add-action" }));
  editor.externalsBox.replaceChildren(...externalRows(ctx, editor),
    button(t("add_external"), add("externals", () => ({ id: newId(), kind: "external", name: "" })), { kind: "secondary", id: "add-external" }));
}

/** "Finalise" asks first, on the page: a final note can never be changed. */
function askFinal(ctx, editor) {
  const { t } = ctx;
  editor.confirmBox.replaceChildren(h("div", { class: "fa-confirm", role: "group", "aria-labelledby": "confirm-text" },
    h("p", { id: "confirm-text" }, t("finalise_confirm")),
    button(t("finalise_yes"), () => save(ctx, editor, true), { id: "finalise-yes" }),
    button(t("cancel"), () => editor.confirmBox.replaceChildren(), { kind: "secondary", id: "finalise-cancel" })));
}

async function save(ctx, editor, final) {
  try {
    const { doc, visitDoc } = collect(ctx, editor);
    const saved = await ctx.actions.saveNote(final ? finalised(doc, ctx.me) : doc, visitDoc);
    ctx.go(`#/note/${saved._id}`, { message: ctx.t(final ? "finalised_message" : "saved_message") });
  } catch (err) {
    editor.confirmBox.replaceChildren(notification(ctx.errorText(err), "error", "alert"));
  }
}

function actionRows(ctx, editor) {
  const { t } = ctx;
  const remove = (id) => () => {
    editor.actions = editor.actions.filter((x) => x.id !== id);
    editor.actionsBox.querySelector(`[data-action="${id}"]`)?.remove();
  };
  return editor.actions.map((a, i) => h("div", { class: "fa-item", "data-action": a.id },
    h("h3", { class: "fa-item__title" }, t("action_n", { n: i + 1 })),
    field(t("action_text"), `action-text-${a.id}`, { value: a.text, multiline: true }),
    field(t("action_responsible"), `action-responsible-${a.id}`, { value: a.responsible }),
    field(t("action_due"), `action-due-${a.id}`, { value: a.due_on, type: "date" }),
    button(t("remove"), remove(a.id), { kind: "supplementary", small: true })));
}

function externalRows(ctx, editor) {
  const { t } = ctx;
  const remove = (id) => () => {
    editor.externals = editor.externals.filter((x) => x.id !== id);
    editor.externalsBox.querySelector(`[data-external="${id}"]`)?.remove();
  };
  return editor.externals.map((p, i) => h("div", { class: "fa-item", "data-external": p.id },
    h("h3", { class: "fa-item__title" }, t("external_n", { n: i + 1 })),
    field(t("external_name"), `ext-name-${p.id}`, { value: p.name }),
    field(t("external_organisation"), `ext-org-${p.id}`, { value: p.organisation, helper: t("external_org_help") }),
    field(t("external_role"), `ext-role-${p.id}`, { value: p.role }),
    checkbox(t("interpreter"), `ext-interpreter-${p.id}`, p.interpreter),
    languageSelect(ctx, `ext-language-${p.id}`, p.language),
    button(t("remove"), remove(p.id), { kind: "supplementary", small: true })));
}

function languageSelect(ctx, name, chosen) {
  return h("div", { class: "hds-select fa-field" },
    h("label", { for: name, class: "hds-text-input__label" }, ctx.t("interpreter_language")),
    h("select", { id: name, name, class: "fa-select" },
      h("option", { value: "", selected: !chosen }, "—"),
      LANGUAGES.map((code) => h("option", { value: code, selected: code === chosen }, ctx.language(code)))));
}

const text = (form, name) => {
  const value = form.elements.namedItem(name)?.value?.trim();
  return value ? value : null;
};

function readActions(form, actions) {
  return actions.map((a) => ({ ...a, text: text(form, `action-text-${a.id}`) ?? "", responsible: text(form, `action-responsible-${a.id}`), due_on: text(form, `action-due-${a.id}`) }));
}

function readExternals(form, externals) {
  return externals.map((p) => ({ ...p, name: text(form, `ext-name-${p.id}`) ?? "", organisation: text(form, `ext-org-${p.id}`), role: text(form, `ext-role-${p.id}`),
    interpreter: form.elements.namedItem(`ext-interpreter-${p.id}`)?.checked || false, language: text(form, `ext-language-${p.id}`) }));
}

/** The note (and its visit, when participants changed) from the form. */
function collect(ctx, { form, note, visit, family, actions, externals }) {
  const kept = readActions(form, actions).filter((a) => a.text);
  const others = readExternals(form, externals).filter((p) => p.name);
  if (others.some((p) => p.interpreter && !p.language)) throw new Error(ctx.t("interpreter_language_needed"));
  const doc = stamped({
    ...note, discussion: text(form, "discussion"), client_view: text(form, "client_view"),
    agreed_actions: kept.map(clean),
    written_with_client: form.elements.namedItem("written_with_client").checked,
    client_review: { status: form.elements.namedItem("review_status").value, comment: text(form, "review_comment") },
  }, ctx.me);
  if (doc.kind === "amendment") {
    doc.amendment_reason = text(form, "amendment_reason");
    if (!doc.amendment_reason) throw new Error(ctx.t("amendment_reason_needed"));
  }
  const members = (family?.members || []).filter((m) => form.elements.namedItem(`member-${m.id}`)?.checked);
  const visitDoc = visitWith(ctx, visit, note, members, others.map(clean));
  if (visitDoc) doc.visit_id = visitDoc._id;
  return { doc, visitDoc };
}

function clean(item) {
  return Object.fromEntries(Object.entries(item).filter(([, v]) => v !== null && v !== "" && v !== false));
}

/** The visit with the chosen participants; null when nothing changed or nothing to hold. */
function visitWith(ctx, visit, note, members, externals) {
  const kept = (visit?.participants || []).filter((p) => p.kind === "worker"
    || (p.kind === "family_member" && members.some((m) => m.id === p.member_id)));
  const known = new Set(kept.map((p) => p.member_id).filter(Boolean));
  const added = members.filter((m) => !known.has(m.id)).map((m) => ({ id: newId(), kind: "family_member", member_id: m.id }));
  const participants = [...kept, ...added, ...externals];
  if (!visit && !members.length && !externals.length) return null;
  const base = visit || newVisit(note.case_id, ctx.me, note.occurred_at);
  if (visit && JSON.stringify(visit.participants || []) === JSON.stringify(participants)) return null;
  return stamped({ ...base, participants: visit ? participants : [...base.participants, ...added, ...externals] }, ctx.me);
}
