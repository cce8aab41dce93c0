# Visa-like card with CTQ 2400: go online if ODA fails, switch interface for
# cash transactions.
name: visa-cash-switch-interface
description: Visa-like card, CTQ 2400 (switch interface for cash)
form_factor: plastic
app:
  scheme: visa
  pan: "4761739001010135"
  psn: "01"
  expiry: 2029-12
  cvn: visa18
  imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  ctq: "2400"
  cvms: [online_pin]
