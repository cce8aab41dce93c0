# Mastercard-like SE phone in mag-stripe mode only, holder verified on the
# device. Test keys only: the issuer master key below is public test data.
name: mc-magstripe-phone
description: "SE phone, Mastercard-like applet, mag-stripe mode only, track 2, holder verified on the device"
form_factor: se-phone
app:
  scheme: mastercard
  pan: "5413330089010061"
  psn: "01"
  expiry: 2029-12
  effective: 2024-01
  name: TAPSIM/MC MS PHONE
  cvn: mc16
  imk: 1F2E3D4C5B6A79880102030405060708
  mag_stripe: {emv: false}
phone:
  passcode: "5791"
  validity: 5m
  sd_aid: A000000151535002
  sd_key: 505152535455565758595A5B5C5D5E5F
  sd_owner: tapsim test bank
state:
  atc: 0
  card_on: true
  unlocked: true
