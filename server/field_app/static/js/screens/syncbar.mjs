// The sync state, always on screen: what the replication is doing, the first pull's
// progress, and how many changes wait to be pushed.
import { h } from "./dom.mjs";

export function renderSync(t, state) {
  const current = state?.state || "locked";
  const parts = [h("span", { class: `fa-sync__state fa-sync--${current}`, id: "sync-state" }, t(`sync_${current}`))];
  if (current === "pulling" && state.total) {
    parts.push(h("label", { for: "sync-progress", class: "fa-visually-hidden" }, t("sync_progress")),
      h("progress", { id: "sync-progress", max: state.total, value: Math.min(state.pulled || 0, state.total) }),
      h("span", { class: "fa-sync__count" }, t("pulled_of", { n: state.pulled || 0, total: state.total })));
  }
  if (state && current !== "wiped") {
    parts.push(h("span", { class: "fa-sync__unsynced", id: "unsynced" }, t("unsynced", { n: state.unsynced || 0 })));
  }
  // A push the server refused stays on the device but will never be sent: say so, with
  // the server's code, instead of counting it as done.
  if (state?.denied?.length && current !== "wiped") {
    const codes = [...new Set(state.denied.map((d) => d.code))].join(", ");
    parts.push(h("span", { class: "fa-sync__denied", id: "denied" }, t("denied", { n: state.denied.length, codes })));
  }
  return parts;
}
