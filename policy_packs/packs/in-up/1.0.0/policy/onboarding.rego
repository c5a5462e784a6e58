# Consumer onboarding: who may join a programme (P2P trading, net metering, the
# consumer energy passport) on the strength of their connection and meter.
package ies.up.v1.onboarding

import rego.v1

import data.ies.up.v1.common
import data.ies.up.v1.params.onboarding as params

missing := common.missing(input, params.required)

violations contains {"code": "ONB-000", "message": sprintf("input lacks %v", [sort(missing)])} if {
	count(missing) > 0
}

violations contains {"code": "ONB-001", "message": "the consumer's identity is not verified"} if {
	input.consumer.identity_verified == false
}

violations contains v if {
	input.connection.status != "active"
	v := {"code": "ONB-002", "message": sprintf("the connection is %v, not active", [input.connection.status])}
}

violations contains v if {
	count(missing) == 0
	not input.connection.category in object.get(params.eligible_categories, input.programme, [])
	v := {"code": "ONB-003", "message": sprintf(
		"a %v connection may not join %v",
		[input.connection.category, input.programme],
	)}
}

violations contains v if {
	input.programme in params.smart_meter_required_for
	input.meter.type != "smart"
	v := {"code": "ONB-004", "message": sprintf("%v needs a smart meter, not %v", [input.programme, input.meter.type])}
}

violations contains v if {
	input.programme in params.bidirectional_meter_required_for
	input.meter.bidirectional == false
	v := {"code": "ONB-005", "message": sprintf("%v needs an import/export (bidirectional) meter", [input.programme])}
}

violations contains v if {
	input.connection.arrears_inr > params.max_arrears_inr
	v := {"code": "ONB-006", "message": sprintf(
		"arrears of INR %v exceed the INR %v allowed",
		[input.connection.arrears_inr, params.max_arrears_inr],
	)}
}

decision := {"allow": count(violations) == 0, "violations": violations}
