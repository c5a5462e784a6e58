# Helpers shared by the domain modules of this pack.
package ies.gj.v1.common

import rego.v1

# Paths (dotted) of `required` that are absent or null in `doc`.
missing(doc, required) := {path |
	some path in required
	object.get(doc, split(path, "."), null) == null
}

day_ns(date) := time.parse_ns("2006-01-02", date)

days_between(from, to) := (day_ns(to) - day_ns(from)) / 86400000000000

# Not time.format: regopy 1.5's time.format corrupts the heap (the process aborts
# later, "free(): invalid pointer"); the date's parts through sprintf are the same text.
day_text(ns) := sprintf("%04d-%02d-%02d", [d[0], d[1], d[2]]) if d := time.date(ns)
