# Visa-like application whose PPSE entry asks for kernel 2 (9F2A = 02): it
# matches the Visa AID but not the kernel of the reader's Visa combination.
name: visa-aid-kernel-2
description: Visa AID announced for kernel 2
form_factor: plastic
app:
  scheme: visa
  kernel_id: 2
  pan: "4761739001010150"
  psn: "01"
  expiry: 2029-12
  cvn: visa18
  imk: A1B2C3D4E5F60718293A4B5C6D7E8F90
