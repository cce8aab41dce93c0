# A real Mastercard-like card replayed from a trace; its certificates chain to
# the scheme CA key A000000004/FF, which the terminal does not hold.
name: mc-real-caFF
description: real Mastercard-like card, scheme CA key index FF
form_factor: recorded
trace: mc-real-caFF.trace
