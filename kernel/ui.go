package kernel

import (
	"fmt"
	"strings"
	"time"
)

// MessageID is a User Interface Request message identifier (EMV
// Contactless Book A section 9.4, Table 9-5).
type MessageID byte

// Message identifiers of Book A.
const (
	MsgApproved         MessageID = 0x03 // "Approved"
	MsgNotAuthorised    MessageID = 0x07 // "Not Authorised"
	MsgEnterPIN         MessageID = 0x09 // "Please Enter Your PIN"
	MsgProcessingError  MessageID = 0x0F // "Processing Error"
	MsgRemoveCard       MessageID = 0x10 // "Please Remove Card"
	MsgWelcome          MessageID = 0x14 // "Welcome"
	MsgPresentCard      MessageID = 0x15 // "Present Card"
	MsgProcessing       MessageID = 0x16 // "Processing"
	MsgCardReadOK       MessageID = 0x17 // "Card Read OK, Please Remove Card"
	MsgInsertOrSwipe    MessageID = 0x18 // "Please Insert or Swipe Card"
	MsgPresentOneCard   MessageID = 0x19 // "Please Present One Card Only"
	MsgApprovedSign     MessageID = 0x1A // "Approved, Please Sign"
	MsgAuthorising      MessageID = 0x1B // "Authorising, Please Wait"
	MsgTryAnotherCard   MessageID = 0x1C // "Insert, Swipe or Try Another Card"
	MsgInsertCard       MessageID = 0x1D // "Please Insert Card"
	MsgSeePhone         MessageID = 0x20 // "See Phone for Instructions"
	MsgPresentCardAgain MessageID = 0x21 // "Present Card Again"
	MsgNone             MessageID = 0xFF // no message: only the status changes
)

var messageNames = map[MessageID][2]string{
	MsgApproved:         {"approved", "Approved"},
	MsgNotAuthorised:    {"not_authorised", "Not Authorised"},
	MsgEnterPIN:         {"enter_pin", "Please Enter Your PIN"},
	MsgProcessingError:  {"processing_error", "Processing Error"},
	MsgRemoveCard:       {"remove_card", "Please Remove Card"},
	MsgWelcome:          {"welcome", "Welcome"},
	MsgPresentCard:      {"present_card", "Present Card"},
	MsgProcessing:       {"processing", "Processing"},
	MsgCardReadOK:       {"card_read_ok", "Card Read OK, Please Remove Card"},
	MsgInsertOrSwipe:    {"insert_or_swipe", "Please Insert or Swipe Card"},
	MsgPresentOneCard:   {"present_one_card", "Please Present One Card Only"},
	MsgApprovedSign:     {"approved_sign", "Approved, Please Sign"},
	MsgAuthorising:      {"authorising", "Authorising, Please Wait"},
	MsgTryAnotherCard:   {"try_another_card", "Insert, Swipe or Try Another Card"},
	MsgInsertCard:       {"insert_card", "Please Insert Card"},
	MsgSeePhone:         {"see_phone", "See Phone for Instructions"},
	MsgPresentCardAgain: {"present_card_again", "Present Card Again"},
	MsgNone:             {"none", "(no message)"},
}

// Name is the message's short name for files and tests ("see_phone").
func (m MessageID) Name() string {
	if n, ok := messageNames[m]; ok {
		return n[0]
	}
	return fmt.Sprintf("%02X", byte(m))
}

// String is the message text of Book A ("See Phone for Instructions").
func (m MessageID) String() string {
	if n, ok := messageNames[m]; ok {
		return n[1]
	}
	return fmt.Sprintf("message %02X", byte(m))
}

// ParseMessageID reads a message by short name ("see_phone"), text ("See
// Phone for Instructions"), or two hex digits ("20").
func ParseMessageID(s string) (MessageID, error) {
	t := strings.TrimSpace(s)
	for id, n := range messageNames {
		if strings.EqualFold(t, n[0]) || strings.EqualFold(t, n[1]) {
			return id, nil
		}
	}
	if b, ok := parseHexByte(t); ok {
		return MessageID(b), nil
	}
	return 0, fmt.Errorf("%w: unknown UI message %q", ErrConfig, s)
}

// Status is the reader status of a User Interface Request (Book A Table 9-6).
type Status byte

// Statuses of Book A.
const (
	StatusNotReady        Status = 0x00
	StatusIdle            Status = 0x01
	StatusReadyToRead     Status = 0x02
	StatusProcessing      Status = 0x03
	StatusCardReadOK      Status = 0x04
	StatusProcessingError Status = 0x05
)

var statusNames = map[Status][2]string{
	StatusNotReady:        {"not_ready", "Not Ready"},
	StatusIdle:            {"idle", "Idle"},
	StatusReadyToRead:     {"ready_to_read", "Ready to Read"},
	StatusProcessing:      {"processing", "Processing"},
	StatusCardReadOK:      {"card_read_successfully", "Card Read Successfully"},
	StatusProcessingError: {"processing_error", "Processing Error"},
}

// Name is the status's short name ("ready_to_read").
func (s Status) Name() string {
	if n, ok := statusNames[s]; ok {
		return n[0]
	}
	return fmt.Sprintf("%02X", byte(s))
}

// String is the status as Book A names it ("Ready to Read").
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n[1]
	}
	return fmt.Sprintf("status %02X", byte(s))
}

// ParseStatus reads a status by short name, Book A name or two hex digits.
func ParseStatus(s string) (Status, error) {
	t := strings.TrimSpace(s)
	for id, n := range statusNames {
		if strings.EqualFold(t, n[0]) || strings.EqualFold(t, n[1]) {
			return id, nil
		}
	}
	if b, ok := parseHexByte(t); ok {
		return Status(b), nil
	}
	return 0, fmt.Errorf("%w: unknown UI status %q", ErrConfig, s)
}

// UIRequest is a User Interface Request (Book A section 6.3): a message for
// the cardholder, the reader status, and how long the message stays.
type UIRequest struct {
	Message MessageID
	Status  Status
	Hold    time.Duration
}

// String prints the message, status and hold time.
func (u UIRequest) String() string {
	if u.Hold > 0 {
		return fmt.Sprintf("%s [%s, %s]", u.Message, u.Status, u.Hold)
	}
	return fmt.Sprintf("%s [%s]", u.Message, u.Status)
}

// UI is the sink the Entry Point and kernels send User Interface Requests to
// while a transaction runs. Outcome.UIRequests keeps the same list.
type UI func(UIRequest)

func parseHexByte(s string) (byte, bool) {
	if len(s) != 2 {
		return 0, false
	}
	var v byte
	for i := 0; i < 2; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}
