"""Call tasks (= contacts) as the console and the contacts API act on them: the per-contact
operations, the search of a campaign's contacts and the actions on everything it matches."""
