# Meter data sharing: a data provider (the discom) releases a consumer's meter data
# only within an active consent; aggregates only above a minimum crowd.
package ies.gj.v1.meter_data_sharing

import rego.v1

import data.ies.gj.v1.common
import data.ies.gj.v1.params.meter_data_sharing as params

request := input.request

consent := input.consent

missing := common.missing(input, array.concat(params.required, object.get(params.required_for, object.get(request, "kind", ""), [])))

individual if request.kind == "individual"

violations contains {"code": "MDS-000", "message": sprintf("input lacks %v", [sort(missing)])} if {
	count(missing) > 0
}

violations contains v if {
	not request.kind in {"individual", "aggregate"}
	count(missing) == 0
	v := {"code": "MDS-000", "message": sprintf("unknown request kind %v", [request.kind])}
}

violations contains v if {
	individual
	consent.status != "ACTIVE"
	v := {"code": "MDS-001", "message": sprintf("the consent is %v, not ACTIVE", [consent.status])}
}

violations contains v if {
	individual
	common.day_ns(request.requested_on) > common.day_ns(consent.expires_on)
	v := {"code": "MDS-002", "message": sprintf("the consent expired on %v", [consent.expires_on])}
}

violations contains v if {
	individual
	not request.data_type in consent.data_types
	v := {"code": "MDS-003", "message": sprintf("the consent does not cover %v", [request.data_type])}
}

violations contains v if {
	individual
	params.granularity_rank[request.granularity] < params.granularity_rank[consent.granularity]
	v := {"code": "MDS-004", "message": sprintf(
		"the consent allows %v data, not %v",
		[consent.granularity, request.granularity],
	)}
}

violations contains v if {
	individual
	outside_consented_range
	v := {"code": "MDS-005", "message": sprintf(
		"%v..%v lies outside the consented %v..%v",
		[request.date_range.from, request.date_range.to, consent.date_range.from, consent.date_range.to],
	)}
}

outside_consented_range if common.day_ns(request.date_range.from) < common.day_ns(consent.date_range.from)

outside_consented_range if common.day_ns(request.date_range.to) > common.day_ns(consent.date_range.to)

violations contains v if {
	request.kind == "aggregate"
	input.aggregate.consumer_count < params.min_aggregate_consumers
	v := {"code": "MDS-006", "message": sprintf(
		"an aggregate of %v consumers is below the %v needed to share without consent",
		[input.aggregate.consumer_count, params.min_aggregate_consumers],
	)}
}

violations contains v if {
	not request.requester_role in params.roles[request.kind]
	count(missing) == 0
	v := {"code": "MDS-007", "message": sprintf(
		"a %v may not receive %v data",
		[request.requester_role, request.kind],
	)}
}

decision := {"allow": count(violations) == 0, "violations": violations}
