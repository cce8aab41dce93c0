# Mastercard-like card answering GET PROCESSING OPTIONS with '6F00'.
name: mc-gpo-error
description: Mastercard-like card answering GET PROCESSING OPTIONS with 6F00
form_factor: plastic
app:
  scheme: mastercard
  pan: "5413330089010079"
  psn: "01"
  expiry: 2029-12
  cvn: mc16
  imk: 1F2E3D4C5B6A79880102030405060708
  faults: {"A8": "6F00"}
