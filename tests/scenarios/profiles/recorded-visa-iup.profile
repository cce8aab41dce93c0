# Replays visa-iup.trace, a session of tapsim's virtual card (certified by the test CA).
name: recorded-visa-iup
description: "recorded session of a virtual card: visa-iup"
form_factor: recorded
trace: visa-iup.trace
test_card: true
