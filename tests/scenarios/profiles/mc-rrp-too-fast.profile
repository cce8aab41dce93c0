# Mastercard-like plastic card (CVN 16, CDA) that supports the Relay
# Resistance Protocol of Book C-2: announces at least 8 ms, answers in 1 ms
name: mc-rrp-too-fast
description: "Mastercard-like M/Chip plastic card, relay resistance, announces at least 8 ms, answers in 1 ms"
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
  relay_resistance: {min: 8ms, max: 12ms, transmission: 1800us, processing: 1ms}
state:
  atc: 0
