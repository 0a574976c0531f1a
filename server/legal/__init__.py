"""The legal record and the rules behind it: statutory deadlines (pure), and later the
client's access report, disclosures and retention."""
