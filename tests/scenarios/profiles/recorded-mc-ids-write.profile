# Replays mc-ids-write.trace, a session of tapsim's virtual card (certified by the test CA).
name: recorded-mc-ids-write
description: "recorded session of a virtual card: mc-ids, a data storage write"
form_factor: recorded
trace: mc-ids-write.trace
test_card: true
