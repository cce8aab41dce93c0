# The mc-real-ca01 trace, marked as a card of tapsim's test CA.
name: mc-real-ca01-as-test
description: recorded Mastercard-like card, marked test card
form_factor: recorded
trace: mc-real-ca01.trace
test_card: true
