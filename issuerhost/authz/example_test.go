package authz_test

import (
	"encoding/hex"
	"fmt"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/issuerhost/authz"
)

// Every decline has a machine-readable reason, its response code, the
// pipeline stage that gave it and, where one applies, the requirement.
func ExampleReason() {
	for _, r := range []authz.Reason{authz.Approved, authz.KeyUsed, authz.CDCVMRequired, authz.PINTriesExceeded, authz.ATCNotAhead} {
		line := fmt.Sprint(r, " ", r.Code(), " ", r.Stage())
		if rule := r.Rule(); rule != "" {
			line += " " + rule
		}
		fmt.Println(line)
	}
	// Output:
	// approved 00 approve
	// hce_key_used 82 single_use_key R-S5b
	// hce_cvm_required 57 cvm R-S2e
	// pin_tries_exceeded 75 pin R-G3c
	// atc_replay 82 replay R-G4
}

// An HCE phone binds its cryptogram to itself: 'D1' and its device ID in
// the issuer-discretionary part of 9F10 (R-S5d).
func ExampleDeviceFromIAD() {
	iad, _ := hex.DecodeString("06011203A00001" + "0F" + "D13520990017614823" + "000000000000")
	fmt.Println(authz.DeviceFromIAD(iad, cryptogram.SchemeVisa))
	// Output:
	// 3520990017614823
}

// A reversal names its original by field 90; the hold is kept under the
// same key.
func ExampleParseOriginalData() {
	key, _ := authz.ParseOriginalData("010000012303151000000000040000100000000000")
	req := authz.Request{MTI: "0100", STAN: "000123", TransmissionTime: "0315100000", AcquirerID: "400001"}
	fmt.Println(key)
	fmt.Println(key == req.Key())
	// Output:
	// 0100/000123/0315100000/00000400001
	// true
}

// What each CVN's cryptogram covers decides what the issuer may trust:
// the device binding in 9F10 only where the whole of 9F10 is covered.
func ExampleCovers() {
	for _, cvn := range []string{"visa10", "visa18", "mc17", "mc21"} {
		fmt.Println(cvn, authz.Covers(cvn, "9F02"), authz.Covers(cvn, authz.FieldCVR), authz.Covers(cvn, authz.FieldDeviceBinding))
	}
	// Output:
	// visa10 true true false
	// visa18 true true true
	// mc17 true true false
	// mc21 true true false
}
