# Mastercard-like plastic card (CVN 16, CDA) that supports the Relay
# Resistance Protocol of Book C-2: takes 35 ms, within its generous 40 ms maximum but 34 ms over its minimum
name: mc-rrp-accuracy
description: "Mastercard-like M/Chip plastic card, relay resistance, takes 35 ms, within its generous 40 ms maximum but 34 ms over its minimum"
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
  relay_resistance: {min: 1ms, max: 40ms, transmission: 1800us, processing: 35ms}
state:
  atc: 0
