# Mastercard-like plastic card with C-2 mag-stripe mode data: M/Chip and mag-stripe mode, CDA
name: mc-magstripe-emv
description: "Mastercard-like card, mag-stripe mode: M/Chip and mag-stripe mode, CDA"
form_factor: plastic
app:
  scheme: mastercard
  pan: "5413330089010012"
  psn: "01"
  expiry: 2029-12
  effective: 2024-01
  name: TAPSIM/MC STRIPE
  cvn: mc16
  imk: 1F2E3D4C5B6A79880102030405060708
  mag_stripe: {emv: true}
  offline: {allowed: true, max_consecutive: 3, limit: 100000}
  oda: {ca_index: 1, issuer_key: issuer-a, icc_key: icc-b}
state:
  atc: 0
