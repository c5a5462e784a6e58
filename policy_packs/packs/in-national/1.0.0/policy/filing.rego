# Regulatory filings (ARR, true-up, RPO compliance): required fields, the deadline,
# and thresholds that oblige the discom to file more.
package ies.national.v1.filing

import rego.v1

import data.ies.national.v1.common
import data.ies.national.v1.params.filing as params

missing := common.missing(input, params.required)

rules := params.filing_types[input.filing_type]

violations contains {"code": "FIL-000", "message": sprintf("input lacks %v", [sort(missing)])} if {
	count(missing) > 0
}

violations contains v if {
	count(missing) == 0
	not rules
	v := {"code": "FIL-001", "message": sprintf("%v is not a filing this regulator receives", [input.filing_type])}
}

absent_fields := {field |
	some field in rules.required_fields
	object.get(input.fields, field, "") in {"", null}
}

violations contains v if {
	count(absent_fields) > 0
	v := {"code": "FIL-002", "message": sprintf("the filing lacks %v", [sort(absent_fields)])}
}

deadline := time.add_date(common.day_ns(input.year_start), 0, 0, 0 - rules.days_before_year_start)

violations contains v if {
	common.day_ns(input.submitted_on) > deadline
	v := {"code": "FIL-003", "message": sprintf(
		"filed on %v, after the deadline of %v",
		[input.submitted_on, common.day_text(deadline)],
	)}
}

violations contains v if {
	input.metrics.atc_loss_pct > params.atc_loss_threshold_pct
	object.get(input.fields, "loss_reduction_plan", "") in {"", null}
	v := {"code": "FIL-004", "message": sprintf(
		"AT&C loss of %v%% exceeds %v%% and no loss reduction plan is attached",
		[input.metrics.atc_loss_pct, params.atc_loss_threshold_pct],
	)}
}

violations contains v if {
	input.filing_type == "rpo_compliance"
	input.metrics.rpo_achieved_pct < params.rpo_target_pct
	object.get(input.fields, "shortfall_statement", "") in {"", null}
	v := {"code": "FIL-005", "message": sprintf(
		"renewable purchase of %v%% is below the %v%% obligation with no shortfall statement",
		[input.metrics.rpo_achieved_pct, params.rpo_target_pct],
	)}
}

violations contains v if {
	some feeder in input.feeders
	feeder.billed_kwh > feeder.input_kwh
	v := {"code": "FIL-006", "message": sprintf(
		"feeder %v billed %v kWh against an input of %v kWh: billed energy cannot exceed input energy",
		[feeder.feeder, feeder.billed_kwh, feeder.input_kwh],
	)}
}

decision := {"allow": count(violations) == 0, "violations": violations}
