# Visa-like plastic card whose CTQ (2200) asks to switch interface for
# purchases with cashback (byte 1 b2) and to go online if ODA fails.
name: visa-cashback-switch
description: Visa-like qVSDC card, CTQ switch interface for cashback
form_factor: plastic
app:
  scheme: visa
  pan: "4761739001010010"
  psn: "01"
  expiry: 2029-12
  effective: 2024-01
  name: TAPSIM/VISA CASHBACK
  cvn: visa18
  imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  ctq: "2200"
  cvms: [online_pin, signature]
  offline: {allowed: true, max_consecutive: 3, limit: 100000}
  oda: {ca_index: 1, issuer_key: issuer-a, icc_key: icc-a}
state:
  atc: 0
