# Mastercard-like plastic card with C-2 mag-stripe mode data: no M/Chip, COMPUTE CRYPTOGRAPHIC CHECKSUM answers 6985
name: mc-magstripe-ccc-error
description: "Mastercard-like card, mag-stripe mode: no M/Chip, COMPUTE CRYPTOGRAPHIC CHECKSUM answers 6985"
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
  mag_stripe: {emv: false}
  faults: {"2A": "6985"}
state:
  atc: 0
