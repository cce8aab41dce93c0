package kernel

import (
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/tlv"
)

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
	// TagsToWriteBeforeGenAC and TagsToWriteAfterGenAC (FF8102, FF8103)
	// are primitive data objects the kernel writes to the card with PUT
	// DATA before and after GENERATE AC, after those of the combination's
	// configuration.
	TagsToWriteBeforeGenAC tlv.List
	TagsToWriteAfterGenAC  tlv.List
	// Delay is how long the terminal took to answer beyond the time the
	// call itself took by Config.Stopwatch: the answer time of a simulated
	// terminal, which the kernel compares with the Time Out Value (DF8127)
	// when it waits for the DET.
	Delay time.Duration
}

// DETConfig is a terminal's DET written in its configuration (the POS's
// answer to every DEK): terminal data objects and the Tags To Write Before
// and After Gen AC, each BER-TLV encoded.
type DETConfig struct {
	Data                   HexBytes `yaml:"data,omitempty"`
	TagsToWriteBeforeGenAC HexBytes `yaml:"tags_to_write_before_gen_ac,omitempty"`
	TagsToWriteAfterGenAC  HexBytes `yaml:"tags_to_write_after_gen_ac,omitempty"`
	// Delay is how long the POS takes to answer ("700ms"); zero: at once.
	Delay time.Duration `yaml:"delay,omitempty"`
}

// DET decodes the configured answer.
func (d DETConfig) DET() (DET, error) {
	det := DET{Delay: d.Delay}
	if len(d.Data) > 0 {
		l, err := tlv.Decode(d.Data)
		if err != nil {
			return DET{}, fmt.Errorf("%w: data: %w", ErrConfig, err)
		}
		det.Data = l
	}
	var err error
	if det.TagsToWriteBeforeGenAC, err = TagsToWrite(d.TagsToWriteBeforeGenAC); err != nil {
		return DET{}, err
	}
	if det.TagsToWriteAfterGenAC, err = TagsToWrite(d.TagsToWriteAfterGenAC); err != nil {
		return DET{}, err
	}
	return det, nil
}

// Exchange returns the function that answers a DEK: DataExchange when set,
// else the configured DET, else nil (no exchange).
func (c *Config) Exchange() func(DEK) DET {
	if c.DataExchange != nil {
		return c.DataExchange
	}
	if c.DET == nil {
		return nil
	}
	det, err := c.DET.DET()
	if err != nil {
		return nil
	}
	return func(DEK) DET { return det }
}

// ErrTagsToWrite reports a Tags To Write list that cannot be written with
// PUT DATA: not BER-TLV, a constructed data object, or a tag of more than
// two bytes (P1 P2 carry the tag).
var ErrTagsToWrite = errors.New("kernel: bad tags to write")

// TagsToWrite parses a Tags To Write list (FF8102, FF8103 values): primitive
// data objects one after the other, each tag at most two bytes. Empty input
// is an empty list.
func TagsToWrite(b []byte) (tlv.List, error) {
	if len(b) == 0 {
		return nil, nil
	}
	l, err := tlv.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTagsToWrite, err)
	}
	for _, t := range l {
		if t.Tag.Constructed() || t.Tag > 0xFFFF {
			return nil, fmt.Errorf("%w: %X is not a primitive tag of at most two bytes", ErrTagsToWrite, uint32(t.Tag))
		}
	}
	return l, nil
}

// detProtected are the tags a DET may not change.
var detProtected = map[tlv.Tag]bool{0x9F02: true, 0x9F03: true, 0x9F37: true, 0x95: true, 0x9F34: true, 0x9A: true, 0x9C: true, 0x5F2A: true}

// DETAllows reports whether a DET may set tag.
func DETAllows(tag tlv.Tag) bool { return !detProtected[tag] }
