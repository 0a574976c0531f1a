"""Tools around the server: the demo organisation and its fictional documents, and the
field-day simulator."""
