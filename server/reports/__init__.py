"""The statutory reports: THL processing times of service-need assessments and social
reporting (SHL 7 §) from the team's observations. The counting rules are pure, in
`server.legal`; these services read the directory and the sealed documents for them."""
