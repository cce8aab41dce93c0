# Mastercard-like plastic card (CVN 16, CDA) that supports the Relay
# Resistance Protocol of Book C-2: estimates its R-APDU transmission at 0.5 ms
name: mc-rrp-mismatch
description: "Mastercard-like M/Chip plastic card, relay resistance, estimates its R-APDU transmission at 0.5 ms"
form_factor: plastic
app:
  scheme: mastercard
  pan: "5413330089010012"
  psn: "01"
  expiry: 2029-12
  effective: 2024-01
  name: TAPSIM/MC RRP
  cvn: mc16
  imk: 1F2E3D4C5B6A79880102030405060708
  offline: {allowed: true, max_consecutive: 3, limit: 100000}
  oda: {ca_index: 1, issuer_key: issuer-a, icc_key: icc-b}
  relay_resistance: {min: 1ms, max: 5ms, transmission: 500us, processing: 2ms}
state:
  atc: 0
