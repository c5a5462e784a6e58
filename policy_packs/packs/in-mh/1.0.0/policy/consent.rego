# Consent: which purposes a data consumer may ask each data type for, how fine the
# data may be, how long a date range and how long the data may be kept.
package ies.mh.v1.consent

import rego.v1

import data.ies.mh.v1.common
import data.ies.mh.v1.params.consent as params

missing := common.missing(input, params.required)

finest := params.allowed[input.data_type][input.purpose]

violations contains {"code": "CON-000", "message": sprintf("input lacks %v", [sort(missing)])} if {
	count(missing) > 0
}

violations contains v if {
	count(missing) == 0
	not finest
	v := {"code": "CON-001", "message": sprintf(
		"%v may not be requested for the purpose %v",
		[input.data_type, input.purpose],
	)}
}

violations contains v if {
	params.granularity_rank[input.granularity] < params.granularity_rank[finest]
	v := {"code": "CON-002", "message": sprintf(
		"%v may see %v data at most, not %v",
		[input.purpose, finest, input.granularity],
	)}
}

violations contains v if {
	not params.granularity_rank[input.granularity]
	count(missing) == 0
	v := {"code": "CON-002", "message": sprintf("unknown granularity %v", [input.granularity])}
}

range_days := common.days_between(input.date_range.from, input.date_range.to)

violations contains v if {
	range_days > params.max_range_days
	v := {"code": "CON-003", "message": sprintf(
		"a %v-day range exceeds the %v days allowed",
		[range_days, params.max_range_days],
	)}
}

violations contains v if {
	range_days < 0
	v := {"code": "CON-003", "message": "the range ends before it starts"}
}

violations contains v if {
	common.days_between(input.date_range.from, input.requested_on) > params.max_lookback_days
	v := {"code": "CON-004", "message": sprintf(
		"data older than %v days before the request may not be asked for",
		[params.max_lookback_days],
	)}
}

violations contains v if {
	input.data_life_days > params.max_data_life_days
	v := {"code": "CON-005", "message": sprintf(
		"data may be kept %v days at most, not %v",
		[params.max_data_life_days, input.data_life_days],
	)}
}

violations contains {"code": "CON-006", "message": "no notice was given before consent was sought"} if {
	input.notice_given == false
}

decision := {"allow": count(violations) == 0, "violations": violations}
