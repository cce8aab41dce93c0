package wire

// OTA relay messages (JSON over mutual TLS between the phone's agent and
// the SE TSM's OTA listener, provision/tsm).

// OTAOpen starts the download waiting for a device.
type OTAOpen struct {
	DeviceID string `json:"device_id"`
	OrderID  string `json:"order_id"`
	// OTP is the one-time code the cardholder received (R-S3c).
	OTP string `json:"otp"`
}

// OTAStep returns the response to the step's command.
type OTAStep struct {
	Session string `json:"session"`
	Step    int    `json:"step"`
	// Response is the SE's response APDU, hex.
	Response string `json:"response"`
}

// OTANext is the SE TSM's answer: the next command for the SE, or the
// end of the session.
type OTANext struct {
	Session string `json:"session"`
	Step    int    `json:"step"`
	// Command is the APDU to pass to the SE, hex; empty when Done.
	Command string `json:"command,omitempty"`
	Done    bool   `json:"done,omitempty"`
	// Outcome is "personalised" or the reason the download failed.
	Outcome string `json:"outcome,omitempty"`
}
