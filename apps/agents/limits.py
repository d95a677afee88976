"""The guardrail limits. Constants in code on purpose: nothing a customer or a model says can change them."""

MAX_COUPON_PERCENT = 15
MAX_UNITS_PER_ORDER = 5
# A price must be at least cost × 11/10 (integer arithmetic: price × 10 >= cost × 11).
MIN_PRICE_OVER_COST_NUMERATOR = 11
MIN_PRICE_OVER_COST_DENOMINATOR = 10
# This many refused calls in one conversation hand it to staff.
ESCALATION_THRESHOLD = 3
MAX_CHAT_MESSAGE_LENGTH = 2000
# Rounds of tool calls in one turn before the runtime stops a model stuck calling tools.
MAX_TOOL_ROUNDS = 4
# A staff answer to a case: LINE allows 5,000 characters a message; an answer is a few sentences.
MAX_CASE_ANSWER_LENGTH = 2000
# A supplier's offer may cost, all in, at most this many thousandths of the product's fair cost (its lowest list price).
MAX_OFFER_OVER_FAIR_COST_PERMILLE = 1200
