# Replays mc-magstripe.trace, a session of tapsim's virtual card (certified by the test CA).
name: recorded-mc-magstripe
description: "recorded session of a virtual card: mc-magstripe"
form_factor: recorded
trace: mc-magstripe.trace
test_card: true
