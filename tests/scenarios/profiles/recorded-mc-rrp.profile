# Replays mc-rrp.trace, a session of tapsim's virtual card (certified by the test CA).
name: recorded-mc-rrp
description: "recorded session of a virtual card: mc-rrp"
form_factor: recorded
trace: mc-rrp.trace
test_card: true
