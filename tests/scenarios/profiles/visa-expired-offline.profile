# Visa-like qVSDC card past its expiry date (June 2024) that still approves
# offline, with CTQ 2800: go online if ODA fails, go online if the application
# has expired.
name: visa-expired-offline
description: Visa-like card expired in 2024-06, offline approvals, CTQ 2800
form_factor: plastic
app:
  scheme: visa
  pan: "4761739001010085"
  psn: "01"
  expiry: 2024-06
  effective: 2021-07
  name: TAPSIM/VISA EXP OFF
  cvn: visa18
  imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  ctq: "2800"
  cvms: [online_pin, signature]
  offline: {allowed: true, max_consecutive: 3, limit: 100000}
  oda: {ca_index: 1, issuer_key: issuer-a, icc_key: icc-a, issuer_expiry: 2026-12, icc_expiry: 2024-06}
