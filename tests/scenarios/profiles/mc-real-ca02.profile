# A real Mastercard-like card replayed from a trace; its certificates chain to
# the scheme CA key A000000004/02, which the terminal does not hold.
name: mc-real-ca02
description: real Mastercard-like card, scheme CA key index 02
form_factor: recorded
trace: mc-real-ca02.trace
