# Peer-to-peer trading: who may sell and buy, how much per 15-minute block, at what
# price, and how the seller's metering scheme interacts with trading.
package ies.dl.v1.p2p_trade

import rego.v1

import data.ies.dl.v1.common
import data.ies.dl.v1.params.p2p_trade as params

missing := common.missing(input, params.required)

seller := input.seller

trade := input.trade

violations contains {"code": "P2P-000", "message": sprintf("input lacks %v", [sort(missing)])} if {
	count(missing) > 0
}

violations contains v if {
	not seller.connection_category in params.seller_categories
	v := {"code": "P2P-001", "message": sprintf("a %v connection may not sell", [seller.connection_category])}
}

violations contains v if {
	not input.buyer.connection_category in params.buyer_categories
	v := {"code": "P2P-002", "message": sprintf("a %v connection may not buy", [input.buyer.connection_category])}
}

violations contains v if {
	seller.der_capacity_kw > seller.sanctioned_load_kw * params.max_der_to_sanctioned_load
	v := {"code": "P2P-003", "message": sprintf(
		"installed DER of %v kW exceeds %v x the sanctioned load of %v kW",
		[seller.der_capacity_kw, params.max_der_to_sanctioned_load, seller.sanctioned_load_kw],
	)}
}

violations contains v if {
	trade.block.minutes != params.block_minutes
	v := {"code": "P2P-004", "message": sprintf("a block is %v minutes, not %v", [params.block_minutes, trade.block.minutes])}
}

# Blocks are numbered 1..96 for 15-minute blocks (1440 minutes a day).
block_of_the_day if {
	is_number(trade.block.number)
	trade.block.number >= 1
	trade.block.number <= 1440 / params.block_minutes
	trade.block.number == round(trade.block.number)
}

violations contains v if {
	count(missing) == 0
	not block_of_the_day
	v := {"code": "P2P-004", "message": sprintf("block %v is not a block of the day", [trade.block.number])}
}

violations contains v if {
	trade.quantity_kwh > params.max_kwh_per_block
	v := {"code": "P2P-005", "message": sprintf(
		"%v kWh exceeds the %v kWh a trade may carry per block",
		[trade.quantity_kwh, params.max_kwh_per_block],
	)}
}

violations contains v if {
	producible := (seller.der_capacity_kw * params.block_minutes) / 60
	trade.quantity_kwh > producible
	v := {"code": "P2P-006", "message": sprintf(
		"%v kWh exceeds the %v kWh a %v kW system can export in one block",
		[trade.quantity_kwh, producible, seller.der_capacity_kw],
	)}
}

violations contains v if {
	trade.quantity_kwh <= 0
	v := {"code": "P2P-006", "message": "the quantity must be positive"}
}

violations contains v if {
	trade.price_inr_per_kwh < params.price_floor_inr_per_kwh
	v := {"code": "P2P-007", "message": sprintf(
		"INR %v/kWh is below the floor of INR %v/kWh",
		[trade.price_inr_per_kwh, params.price_floor_inr_per_kwh],
	)}
}

violations contains v if {
	trade.price_inr_per_kwh > params.price_ceiling_inr_per_kwh
	v := {"code": "P2P-008", "message": sprintf(
		"INR %v/kWh is above the ceiling of INR %v/kWh",
		[trade.price_inr_per_kwh, params.price_ceiling_inr_per_kwh],
	)}
}

violations contains v if {
	not seller.metering_scheme in params.schemes_that_may_trade
	v := {"code": "P2P-009", "message": sprintf(
		"energy under %v may not also be sold peer to peer",
		[seller.metering_scheme],
	)}
}

decision := {"allow": count(violations) == 0, "violations": violations}
