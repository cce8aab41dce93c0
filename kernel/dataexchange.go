package kernel

import "github.com/tapsim/tapsim/emv/tlv"

// DEK is the C-2 kernel's Data Exchange Kernel signal to the terminal: the
// data objects of the combination's Tags To Read that the card gave (Data To
// Send, FF8104) and the tags it did not (Data Needed, DF8106 in the book's
// sense of what is still missing).
type DEK struct {
	DataToSend tlv.List
	DataNeeded []tlv.Tag
}

// DET is the terminal's Data Exchange Terminal answer: terminal data objects
// the kernel takes for the rest of the transaction (merchant data such as
// 9F4E or 9F16, terminal risk management data 9F1D). The amounts, the
// Unpredictable Number, the TVR and the CVM Results are the kernel's and
// are not replaced.
type DET struct {
	Data tlv.List
}

// detProtected are the tags a DET may not change.
var detProtected = map[tlv.Tag]bool{0x9F02: true, 0x9F03: true, 0x9F37: true, 0x95: true, 0x9F34: true, 0x9A: true, 0x9C: true, 0x5F2A: true}

// DETAllows reports whether a DET may set tag.
func DETAllows(tag tlv.Tag) bool { return !detProtected[tag] }
