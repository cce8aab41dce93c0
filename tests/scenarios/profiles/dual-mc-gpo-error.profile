# Two applications: a Mastercard-like one (priority 1) that answers GET
# PROCESSING OPTIONS with '6F00', and a Visa-like one (priority 2).
name: dual-mc-gpo-error
description: Mastercard-like application failing GPO first, Visa-like application second
form_factor: plastic
apps:
  - scheme: mastercard
    priority: 1
    pan: "5413330089010087"
    psn: "01"
    expiry: 2029-12
    cvn: mc16
    imk: 1F2E3D4C5B6A79880102030405060708
    faults: {"A8": "6F00"}
  - scheme: visa
    priority: 2
    pan: "4761739001010093"
    psn: "01"
    expiry: 2029-12
    cvn: visa18
    imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
    cvms: [online_pin, signature]
