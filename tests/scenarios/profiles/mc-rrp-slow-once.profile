# Mastercard-like plastic card (CVN 16, CDA) that supports the Relay
# Resistance Protocol of Book C-2: slow at the first exchange only
name: mc-rrp-slow-once
description: "Mastercard-like M/Chip plastic card, relay resistance, slow at the first exchange only"
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
  relay_resistance: {min: 1ms, max: 5ms, transmission: 1800us, processing: 2ms, slow: 12ms, slow_count: 1}
state:
  atc: 0
