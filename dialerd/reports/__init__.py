"""Reports: abandon rates against the limit, outcomes, agents, the attempt history as CSV or
.xlsx, and the campaign list's figures (docs/reports.md)."""
