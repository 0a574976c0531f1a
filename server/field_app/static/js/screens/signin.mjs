// Sign in and enrol this browser as a device (PROTOCOL "Enrolling a device"), and,
// on later visits, unlock the device key with the PIN.
import { button, field, h, notification } from "./dom.mjs";

const MIN_PIN = 6;

export function renderSignIn(ctx, { error } = {}) {
  const { t } = ctx;
  const form = h("form", { class: "fa-form", id: "signin", on: { submit: (e) => submit(e, ctx) } },
    field(t("username"), "username", { autocomplete: "username", required: true, autocapitalize: "none" }),
    field(t("password"), "password", { type: "password", autocomplete: "current-password", required: true }),
    field(t("pin"), "pin", { type: "password", inputmode: "numeric", autocomplete: "new-password", required: true, minlength: MIN_PIN, helper: t("pin_help", { n: MIN_PIN }) }),
    field(t("pin_again"), "pin2", { type: "password", inputmode: "numeric", autocomplete: "new-password", required: true, minlength: MIN_PIN }),
    button(t("enrol"), null, { type: "submit", id: "enrol" }));
  return h("section", { class: "fa-screen", "aria-labelledby": "title" },
    h("h1", { id: "title" }, t("signin_title")),
    h("p", {}, t("signin_intro")),
    error ? notification(error, "error", "alert") : null,
    form);
}

async function submit(event, ctx) {
  event.preventDefault();
  const data = new FormData(event.target);
  const pin = data.get("pin");
  if (pin.length < MIN_PIN) return ctx.show(renderSignIn(ctx, { error: ctx.t("pin_short", { n: MIN_PIN }) }));
  if (pin !== data.get("pin2")) return ctx.show(renderSignIn(ctx, { error: ctx.t("pin_mismatch") }));
  ctx.busy(ctx.t("enrolling"));
  try {
    await ctx.actions.enrol(data.get("username").trim(), data.get("password"), pin);
  } catch (err) {
    ctx.show(renderSignIn(ctx, { error: ctx.errorText(err) }));
  }
}

export function renderUnlock(ctx, { error } = {}) {
  const { t } = ctx;
  const form = h("form", { class: "fa-form", id: "unlock", on: { submit: (e) => unlock(e, ctx) } },
    field(t("pin"), "pin", { type: "password", inputmode: "numeric", autocomplete: "current-password", required: true }),
    button(t("unlock"), null, { type: "submit", id: "unlock-button" }));
  return h("section", { class: "fa-screen", "aria-labelledby": "title" },
    h("h1", { id: "title" }, t("unlock_title")),
    h("p", {}, t("unlock_intro", { user: ctx.device.username })),
    error ? notification(error, "error", "alert") : null,
    form);
}

async function unlock(event, ctx) {
  event.preventDefault();
  const pin = new FormData(event.target).get("pin");
  ctx.busy(ctx.t("unlocking"));
  try {
    await ctx.actions.unlock(pin);
  } catch (err) {
    ctx.show(renderUnlock(ctx, { error: ctx.errorText(err) }));
  }
}

export function renderWiped(ctx) {
  const { t } = ctx;
  return h("section", { class: "fa-screen", "aria-labelledby": "title" },
    h("h1", { id: "title" }, t("wiped_title")),
    notification(t("wiped_body"), "alert", "alert"),
    button(t("enrol_again"), () => ctx.actions.restart(), { kind: "secondary" }));
}

export function renderBusy(ctx, text) {
  return h("section", { class: "fa-screen", "aria-busy": "true" },
    h("h1", { id: "title" }, text), h("div", { class: "fa-spinner", "aria-hidden": "true" }));
}
