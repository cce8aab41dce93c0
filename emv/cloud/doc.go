// Package cloud is tapsim's model of the cryptography of cloud-based
// (HCE) card payments, after the two schemes' public patents; the schemes'
// own specifications are licensed and not followed. MODEL.md, next to this
// file, says field by field what is public fact and what is tapsim's
// model.
//
// Visa-like limited-use keys ("visa-cloud", CVN C1): DeriveLUK derives a
// limited-use key (LUK) from the token's ICC master key, the account
// parameters index and the key index (KeyIndex, YHHHHCC); the phone MACs
// the transaction with it (GenerateLUKAC) and names the key index in the
// Issuer Application Data (IAD, VisaIAD); the issuer derives the key again
// and checks the cryptogram (VerifyLUKAC) and the key's Validity (count
// and time to live).
//
// Mastercard-like single-use keys ("mc-cloud", CVN C2): for each ATC the
// platform derives SK_MD and SK_UMD (SessionKeys) and ships SK_MD and the
// SUK, SK_UMD masked by a key derived from the mobile PIN (MakeSUK). The
// phone unlocks the SUK with the PIN it is given (UnlockSUK: a wrong PIN
// is no error, it gives a wrong key) and makes two cryptograms
// (GenerateMC): the MD cryptogram in the IAD and the application
// cryptogram (9F26) under SK_UMD. The issuer checks both (VerifyMC) and
// takes "cardholder verified" only from the second.
//
// The cryptograms reuse emv/cryptogram's minimum data set and its MAC
// (ISO/IEC 9797-1 algorithm 3, padding method 2) and the EMV common
// session key. Keys are double-length TDES keys.Key values and never appear
// in errors.
package cloud
