// The server's JSON API as docs/PROTOCOL.md "Enrolling a device" describes it: log in
// with the session cookie, enrol a device key, and a fetch for PouchDB that carries the
// device's bearer token, refreshes it once when it expires and reports a wipe order.
// Same origin only; the browser adds the Origin header the server checks on POSTs.

/** An error answer: `status` is the HTTP status, `code` the stable `error` code. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.reason || body?.error || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = body?.error ?? "http_error";
    this.body = body ?? {};
  }
}

/** {access_token, refresh_token, expires_at} from an enrolment or refresh answer:
 *  expires_at (ms since the epoch) lets the app refresh before the server refuses. */
export function tokensFrom(answer) {
  return {
    access_token: answer.access_token,
    refresh_token: answer.refresh_token,
    expires_at: Date.now() + (answer.expires_in ?? 3600) * 1000,
  };
}

async function bodyOf(response) {
  try {
    return await response.clone().json();
  } catch {
    return {};
  }
}

/** A refused refresh as the answer to the request that needed it. */
function refusal(err) {
  return new Response(JSON.stringify(err.body), {
    status: err.status,
    headers: { "Content-Type": "application/json" },
  });
}

export class Api {
  constructor(base = location.origin) {
    this.base = base.replace(/\/$/, "");
  }

  async _json(path, { method = "GET", body, headers = {} } = {}) {
    const response = await fetch(`${this.base}${path}`, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await bodyOf(response);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  /** The account ({id, username, role, ...}); ApiError 401 invalid_credentials or
   *  429 login_throttled (body.retry_after says how long to wait). */
  login(username, password) {
    return this._json("/api/login", { method: "POST", body: { username, password } });
  }

  logout() {
    return this._json("/api/logout", { method: "POST" });
  }

  /** Enrol this browser's public key: {device_id, access_token, refresh_token, expires_in}. */
  enrol(label, publicKey) {
    return this._json("/api/devices", { method: "POST", body: { label, public_key: publicKey } });
  }

  /** A new token pair for a refresh token (which then stops working). */
  refresh(refreshToken) {
    return this._json("/api/devices/token", {
      method: "POST",
      body: { refresh_token: refreshToken },
    });
  }

  /** A fetch(url, opts) for PouchDB's remote database: adds the bearer token; on
   *  401 token_expired refreshes once (one refresh at a time: a refresh token works
   *  only once) and saves the new pair through onTokens before using it; on 401
   *  device_revoked with wipe: true calls onWipe(body). */
  bearerFetch(device, { onTokens = async () => {}, onWipe = () => {} } = {}) {
    let tokens = { ...device.tokens };
    let refreshing = null;

    const refreshOnce = (used) => {
      if (tokens.access_token !== used) return Promise.resolve(); // already refreshed
      refreshing ??= (async () => {
        const fresh = tokensFrom(await this.refresh(tokens.refresh_token));
        await onTokens(fresh); // saved before use: the old pair is dead already
        tokens = fresh;
      })().finally(() => {
        refreshing = null;
      });
      return refreshing;
    };

    const send = (url, opts, token) => {
      const headers = new Headers(opts.headers || {});
      headers.set("Authorization", `Bearer ${token}`);
      return fetch(url, { ...opts, headers, credentials: "omit" });
    };

    return async (url, opts = {}) => {
      if (refreshing) await refreshing.catch(() => {});
      if (tokens.expires_at && tokens.expires_at < Date.now() + 5000) {
        await refreshOnce(tokens.access_token).catch(() => {});
      }
      const used = tokens.access_token;
      let response = await send(url, opts, used);
      if (response.status !== 401) return response;
      let body = await bodyOf(response);
      // unauthenticated after another request refreshed: the token we sent was retired.
      const stale = body.error === "unauthenticated" && used !== tokens.access_token;
      if (body.error === "token_expired" || stale) {
        try {
          await refreshOnce(used);
        } catch (err) {
          // The refresh was refused (refresh_reused: every token is gone, enrol again):
          // PouchDB sees that answer and reports it, instead of a network fault.
          if (!(err instanceof ApiError)) throw err;
          return refusal(err);
        }
        response = await send(url, opts, tokens.access_token);
        if (response.status !== 401) return response;
        body = await bodyOf(response);
      }
      if (body.error === "device_revoked" && body.wipe === true) await onWipe(body);
      return response;
    };
  }
}
