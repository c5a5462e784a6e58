# Connecting distributed generation: capacity against sanctioned load and the
# distribution transformer's hosting capacity, and which metering scheme it may use.
package ies.ka.v1.der_connection

import rego.v1

import data.ies.ka.v1.common
import data.ies.ka.v1.params.der_connection as params

missing := common.missing(input, params.required)

der := input.der

connection := input.connection

scheme := params.schemes[input.scheme]

violations contains {"code": "DER-000", "message": sprintf("input lacks %v", [sort(missing)])} if {
	count(missing) > 0
}

violations contains v if {
	not der.type in params.der_types
	v := {"code": "DER-001", "message": sprintf("%v is not an eligible generator type", [der.type])}
}

violations contains v if {
	der.capacity_kw < params.min_capacity_kw
	v := {"code": "DER-002", "message": sprintf("%v kW is below the %v kW minimum", [der.capacity_kw, params.min_capacity_kw])}
}

violations contains v if {
	der.capacity_kw > connection.sanctioned_load_kw * params.max_der_to_sanctioned_load
	v := {"code": "DER-003", "message": sprintf(
		"%v kW exceeds %v x the sanctioned load of %v kW",
		[der.capacity_kw, params.max_der_to_sanctioned_load, connection.sanctioned_load_kw],
	)}
}

violations contains v if {
	count(missing) == 0
	not connection.category in object.get(scheme, "categories", [])
	v := {"code": "DER-004", "message": sprintf("a %v connection may not use %v", [connection.category, input.scheme])}
}

violations contains v if {
	der.capacity_kw > scheme.max_kw
	v := {"code": "DER-005", "message": sprintf("%v allows %v kW at most, not %v kW", [input.scheme, scheme.max_kw, der.capacity_kw])}
}

violations contains v if {
	der.capacity_kw < scheme.min_kw
	v := {"code": "DER-005", "message": sprintf("%v needs %v kW at least, not %v kW", [input.scheme, scheme.min_kw, der.capacity_kw])}
}

violations contains v if {
	connection.phase == "single"
	der.capacity_kw > params.single_phase_max_kw
	v := {"code": "DER-006", "message": sprintf(
		"a single-phase connection may host %v kW at most, not %v kW",
		[params.single_phase_max_kw, der.capacity_kw],
	)}
}

# The share of the rating the pack allows, or the hosting capacity the discom's own
# study recorded for this transformer (the registry's hosting_capacity_kw), if lower.
rated_hosting_kw := (input.transformer.rating_kva * params.dt_hosting_pct) / 100

# (Compared by hand: regopy's min() over a set answers the largest member.)
hosting_kw := input.transformer.hosting_capacity_kw if {
	is_number(input.transformer.hosting_capacity_kw)
	input.transformer.hosting_capacity_kw < rated_hosting_kw
} else := rated_hosting_kw

violations contains v if {
	der.capacity_kw > params.dt_check_exempt_up_to_kw
	input.transformer.connected_der_kw + der.capacity_kw > hosting_kw
	v := {"code": "DER-007", "message": sprintf(
		"the transformer would carry %v kW of generation, above its %v kW hosting capacity",
		[input.transformer.connected_der_kw + der.capacity_kw, hosting_kw],
	)}
}

decision := {"allow": count(violations) == 0, "violations": violations}
