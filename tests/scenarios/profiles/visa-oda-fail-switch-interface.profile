# Visa-like card with a tampered issuer certificate and CTQ 1000: switch to
# the contact interface if offline data authentication fails.
name: visa-oda-fail-switch-interface
description: Visa-like card, tampered issuer certificate, CTQ 1000 (switch interface if ODA fails)
form_factor: plastic
app:
  scheme: visa
  pan: "4761739001010127"
  psn: "01"
  expiry: 2029-12
  cvn: visa18
  imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  ctq: "1000"
  offline: {allowed: true, max_consecutive: 3, limit: 100000}
  oda: {ca_index: 1, issuer_key: issuer-a, icc_key: icc-a, tamper: issuer}
