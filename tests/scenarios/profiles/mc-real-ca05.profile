# A real Mastercard-like card replayed from a trace; its certificates chain to
# the scheme CA key A000000004/05, which the terminal does not hold. No
# test_card: a recorded card is not read with the test CA's keys.
name: mc-real-ca05
description: real Mastercard-like card, scheme CA key index 05
form_factor: recorded
trace: mc-real-ca05.trace
