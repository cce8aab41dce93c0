# Two applications: Visa-like first in the PPSE without an Application
# Priority Indicator (lowest priority), Mastercard-like second with priority 2.
name: dual-no-priority-first
description: Visa-like without priority first, Mastercard-like priority 2 second
form_factor: plastic
apps:
  - scheme: visa
    pan: "4761739001010184"
    psn: "01"
    expiry: 2029-12
    cvn: visa18
    imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
  - scheme: mastercard
    priority: 2
    pan: "5413330089010111"
    psn: "01"
    expiry: 2029-12
    cvn: mc16
    imk: 1F2E3D4C5B6A79880102030405060708
