# A real Mastercard-like card replayed from a trace; its certificates chain to
# the scheme CA key A000000004/01. The test CA has an index 01 too, but a real
# card must never be checked against it.
name: mc-real-ca01
description: real Mastercard-like card, scheme CA key index 01
form_factor: recorded
trace: mc-real-ca01.trace
