"""The live-feed server: `_changes?feed=longpoll|continuous|eventsource` on an event
loop, so a waiting device holds no request thread (`sopu live-feeds`; docs/adr/017)."""
