# Two applications with the same priority: Visa-like first in the PPSE,
# Mastercard-like second.
name: dual-same-priority
description: Visa-like then Mastercard-like, both priority 1
form_factor: plastic
apps:
  - scheme: visa
    priority: 1
    pan: "4761739001010176"
    psn: "01"
    expiry: 2029-12
    cvn: visa18
    imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  - scheme: mastercard
    priority: 1
    pan: "5413330089010103"
    psn: "01"
    expiry: 2029-12
    cvn: mc16
    imk: 1F2E3D4C5B6A79880102030405060708
