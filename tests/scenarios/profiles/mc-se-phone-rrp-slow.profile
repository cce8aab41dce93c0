# SE phone with a Mastercard-like applet: on-device CVM (AIP), See Phone with
# DF4B when a verification is needed and not done.
name: mc-se-phone-rrp-slow
description: "SE phone, Mastercard-like applet with relay resistance, 25 ms (too slow), CDA, OD-CVM"
form_factor: se-phone
requirements: [R-G3a, R-G3b, R-G3c, R-G5d, R-S2b, R-S2c, R-S2d]
app:
  scheme: mastercard
  pan: "5413330089010053"
  psn: "01"
  expiry: 2029-12
  name: TAPSIM/MC SE
  cvn: mc17
  imk: 1F2E3D4C5B6A79880102030405060708
  oda: {ca_index: 2, issuer_key: issuer-b, icc_key: icc-d}
  relay_resistance: {min: 1ms, max: 5ms, transmission: 1800us, processing: 3ms, slow: 25ms}
phone:
  passcode: "5791"
  biometric: true
  validity: 5m
  sd_aid: A000000151535002
  sd_key: 505152535455565758595A5B5C5D5E5F
  sd_owner: tapsim test bank
state:
  card_on: true
  unlocked: false
