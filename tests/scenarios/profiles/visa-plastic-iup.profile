# Visa-like contactless plastic card: qVSDC (kernel C-3), CVN 18, fDDA.
# Test keys only: the issuer master key below is public test data.
name: visa-plastic-iup
description: "Visa-like qVSDC plastic card, CVN 18, fDDA, offline approvals up to NT$1,000 three times, issuer update processing"
form_factor: plastic
app:
  scheme: visa
  aid: A0000000031010
  label: VISA CREDIT
  priority: 1
  pan: "4761739001010010"
  psn: "01"
  expiry: 2029-12
  effective: 2024-01
  name: TAPSIM/VISA PLASTIC
  cvn: visa18
  imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  dki: 1
  ctq: "2040"                       # go online if ODA fails; issuer update processing supported
  cvms: [online_pin, signature]
  form_factor_indicator: "20700000" # standard card; signature panel, hologram, CVV2
  offline: {allowed: true, max_consecutive: 3, limit: 100000}
  oda: {ca_index: 1, issuer_key: issuer-a, icc_key: icc-a}
state:
  atc: 0
