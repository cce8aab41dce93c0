# Mastercard-like plastic card with C-2 mag-stripe mode data: no M/Chip (AIP without EMV mode), track 2 only
name: mc-magstripe-mc20
description: "Mastercard-like card, mag-stripe mode: no M/Chip (AIP without EMV mode), track 2 only"
form_factor: plastic
app:
  scheme: mastercard
  pan: "5413330089010012"
  psn: "01"
  expiry: 2029-12
  effective: 2024-01
  name: TAPSIM/MC STRIPE
  cvn: mc20
  imk: 1F2E3D4C5B6A79880102030405060708
  mag_stripe: {emv: false}

state:
  atc: 0
