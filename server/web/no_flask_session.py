"""Flask's signed-cookie session, switched off.

People's sessions live in the directory (`server.people.sessions`, a random id in the
`sopu_session` cookie) and nothing uses `flask.session`; yet Flask would open its
cookie session on every request (an HMAC signer built per request: a few per cent of
a device request's time). `NoFlaskSession` opens none: `flask.session` is Flask's
null session, which refuses any write, so a slip that tried to keep something in a
signed cookie fails loudly instead.
"""

from __future__ import annotations

from flask.sessions import SessionInterface


class NoFlaskSession(SessionInterface):
    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response) -> None:
        return None
