// A tiny element builder. Client data only ever becomes text nodes and attribute values
// (never innerHTML), and nothing sets a `style` attribute: the app's CSP allows no
// inline style.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) setAttr(node, name, value);
  append(node, children);
  return node;
}

function setAttr(node, name, value) {
  if (value === null || value === undefined || value === false) return;
  if (name === "on") {
    for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
  } else if (name === "value" && "value" in node) {
    node.value = value;
  } else if (name === "checked" || name === "selected") {
    node[name] = Boolean(value);
  } else {
    node.setAttribute(name, value === true ? "" : String(value));
  }
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An HDS button; `kind` primary, secondary, supplementary or danger. */
export function button(label, onClick, { kind = "primary", type = "button", id, small } = {}) {
  const classes = `hds-button hds-button--${kind}${small ? " hds-button--small" : ""} fa-touch`;
  return h("button", { type, id, class: classes, on: onClick ? { click: onClick } : null },
    h("span", { class: "hds-button__label" }, label));
}

/** An HDS text input (or textarea) with its label; `name` is also the element id. */
export function field(label, name, { value = "", type = "text", multiline = false, required, helper, ...rest } = {}) {
  const attrs = { id: name, name, class: "hds-text-input__input", value: value ?? "", required, ...rest };
  const input = multiline ? h("textarea", { ...attrs, rows: 5 }) : h("input", { ...attrs, type });
  return h("div", { class: "hds-text-input fa-field" },
    h("label", { class: "hds-text-input__label", for: name }, label),
    h("div", { class: "hds-text-input__input-wrapper" }, input),
    helper ? h("span", { class: "hds-text-input__helper-text" }, helper) : null);
}

/** A checkbox with its label, the whole row a touch target. */
export function checkbox(label, name, checked) {
  return h("div", { class: "hds-checkbox fa-check" },
    h("input", { type: "checkbox", id: name, name, class: "hds-checkbox__input", checked }),
    h("label", { for: name, class: "hds-checkbox__label" }, label));
}

/** Radio buttons in a fieldset with a legend. */
export function radios(legend, name, options, chosen) {
  return h("fieldset", { class: "fa-fieldset" }, h("legend", {}, legend),
    options.map(([value, label]) => h("div", { class: "hds-radio-button fa-check" },
      h("input", { type: "radio", id: `${name}-${value}`, name, value, class: "hds-radio-button__input", checked: value === chosen }),
      h("label", { for: `${name}-${value}`, class: "hds-radio-button__label" }, label))));
}

export function notification(text, kind = "info", role = "status") {
  return h("section", { class: `hds-notification hds-notification--${kind}`, role },
    h("div", { class: "hds-notification__content" }, h("div", { class: "hds-notification__body" }, text)));
}

export function link(href, ...children) {
  return h("a", { href, class: "fa-link" }, ...children);
}
