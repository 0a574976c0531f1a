"""The legal record and the rules behind it, pure (no I/O): statutory deadlines, when a
disclosure's basis holds (`disclosures`), the client's access report (`access_report`),
retention periods, device-side views and the statutory reports."""
