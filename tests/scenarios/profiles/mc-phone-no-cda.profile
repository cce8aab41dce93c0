# SE phone with a Mastercard-like applet that announces on-device CVM but no
# CDA (no ODA keys): AIP 1A80 (cardholder verification, terminal risk
# management, on-device CVM; EMV mode).
name: mc-phone-no-cda
description: SE phone, Mastercard-like M/Chip applet, CVN 17, OD-CVM, no CDA
form_factor: se-phone
app:
  scheme: mastercard
  pan: "5413330089010061"
  psn: "01"
  expiry: 2029-12
  name: TAPSIM/MC NO CDA
  cvn: mc17
  imk: 1F2E3D4C5B6A79880102030405060708
phone:
  passcode: "5791"
  validity: 5m
  sd_aid: A000000151535002
  sd_key: 505152535455565758595A5B5C5D5E5F
  sd_owner: tapsim test bank
state:
  card_on: true
  unlocked: false
